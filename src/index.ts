/**
 * The package entry for host NestJS applications (SPEC §10): the feature modules, the services a host drives,
 * the DTOs and entity types they speak, and the receiver-side signature verifier.
 *
 * A host imports `ConfigModule.forRoot()`, `DatabaseModule`, `ScheduleModule.forRoot()`, `OpsModule`,
 * `NetModule.forRoot()` and the feature modules it needs — or simply `AppModule.forRoot()` for all of them.
 */
export { AppModule, AppModuleOptions } from './app.module';
export { createApp, buildOpenApiDocument } from './bootstrap';

export { ConfigModule } from './config/config.module';
export { AppConfig, ConfigError, loadConfig } from './config/app-config';
export { Clock, TestClock } from './common/clock';
export { DatabaseModule } from './database/database.module';
export { DatabaseService } from './database/database.service';
export { NetModule } from './net/net.module';
export { AddressPolicy, UnsafeAddressError } from './net/safe-lookup';
export type { DnsResolver, ResolvedAddress } from './net/safe-lookup';
export { OpsModule } from './ops/ops.module';
export { MetricsService } from './ops/metrics.service';

export { ApiError } from './common/api-error';
export type { ErrorDetail } from './common/api-error';
export { CurrentPrincipal, Public, RequireScopes, RequireAnyScope } from './common/principal';
export { Optional, OptionalNullable, IsNotNull } from './common/optional';
export { ApiErrorResponses, completeContract } from './common/openapi';
export type { Principal } from './common/principal';

export { AuthModule } from './auth/auth.module';
export { AuthService } from './auth/auth.service';
export { RateLimitService } from './auth/rate-limit.service';
export type { Organization } from './auth/organization.entity';
export type { User } from './auth/user.entity';
export type { ApiKey } from './auth/api-key.entity';
export * from './auth/me.dto';

export { WebhooksModule } from './webhooks/webhooks.module';
export { WebhooksService } from './webhooks/webhooks.service';
export type { WebhookEndpoint } from './webhooks/webhook-endpoint.entity';
export * from './webhooks/webhook.dto';

export { DeliveriesModule } from './deliveries/deliveries.module';
export { EventsService } from './deliveries/events.service';
export type { EventToPublish, PublishOptions, RequestTarget } from './deliveries/events.service';
export { DeliveriesService } from './deliveries/deliveries.service';
export { DeliveryProcessor } from './deliveries/delivery.processor';
export type { Event } from './deliveries/event.entity';
export type { Delivery } from './deliveries/delivery.entity';
export type { DeliveryAttempt } from './deliveries/delivery-attempt.entity';
export * from './deliveries/delivery.dto';
export { verifyWebhook, WebhookVerificationError, buildDeliveryHeaders } from './webhooks/signer';
export type { VerifiedWebhookEvent, WebhookVerificationErrorCode } from './webhooks/signer';

export { UploadsModule } from './uploads/uploads.module';
export { UploadsService } from './uploads/uploads.service';
export { UploadProcessor } from './uploads/upload.processor';
export type { Upload, UploadStatus } from './uploads/upload.entity';
export * from './uploads/upload.dto';
export { FILE_STORAGE } from './uploads/storage/file-storage';
export type { FileStorage } from './uploads/storage/file-storage';
export { PHONE_CLASSIFIER, OfflinePhoneClassifier } from './uploads/phone/phone-classifier';
export type { PhoneClassifier, PhoneClassification, ClassifyOptions } from './uploads/phone/phone-classifier';

export { ContactsModule } from './contacts/contacts.module';
export { ContactsService, CONTACTS_FEATURE } from './contacts/contacts.service';
export type { CreateContactResult } from './contacts/contacts.service';
export { ContactProcessor } from './contacts/contact.processor';
export type { Contact, ContactStatus } from './contacts/contact.entity';
export * from './contacts/contact.dto';
export { FEATURES } from './auth/features';
export type { Feature } from './auth/features';
