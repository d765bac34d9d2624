import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecretCipher } from './secret-cipher';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookPingService } from './webhook-ping.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Endpoint registration (SPEC §5). Needs NetModule (global) for the address policy and the safe HttpService. */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookEndpoint])],
  controllers: [WebhooksController],
  providers: [WebhooksRepository, WebhooksService, WebhookPingService, SecretCipher],
  exports: [WebhooksService, SecretCipher],
})
export class WebhooksModule {}
