import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CryptoModule } from '../crypto/crypto.module';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookPingService } from './webhook-ping.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Endpoint registration (SPEC §5). Needs NetModule (global) for the address policy and the safe HttpService. */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookEndpoint]), CryptoModule],
  controllers: [WebhooksController],
  providers: [WebhooksRepository, WebhooksService, WebhookPingService],
  exports: [WebhooksService],
})
export class WebhooksModule {}
