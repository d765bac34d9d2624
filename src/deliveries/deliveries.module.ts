import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CryptoModule } from '../crypto/crypto.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { DeliveriesController, WebhookDeliveriesController } from './deliveries.controller';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveriesService } from './deliveries.service';
import { DeliveryAttempt } from './delivery-attempt.entity';
import { DeliveryMetrics } from './delivery-metrics';
import { DeliverySender } from './delivery-sender.service';
import { DeliveryWaker } from './delivery-waker';
import { Delivery } from './delivery.entity';
import { DeliveryProcessor } from './delivery.processor';
import { Event } from './event.entity';
import { EventsService } from './events.service';
import { RetentionService } from './retention.service';

/** Events (outbox), deliveries and their processor (SPEC §6). */
@Module({
  imports: [TypeOrmModule.forFeature([Event, Delivery, DeliveryAttempt]), WebhooksModule, CryptoModule],
  controllers: [WebhookDeliveriesController, DeliveriesController],
  providers: [DeliveriesRepository, DeliveriesService, EventsService, DeliveryWaker, DeliverySender, DeliveryMetrics, DeliveryProcessor, RetentionService],
  exports: [EventsService, DeliveriesService, DeliveryProcessor, RetentionService],
})
export class DeliveriesModule {}
