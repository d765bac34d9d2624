import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from './auth/auth.module';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { RateLimitGuard } from './auth/rate-limit.guard';
import { BodyParserModule } from './common/body-parser.module';
import { ErrorEnvelopeFilter } from './common/error.filter';
import { loggerModule } from './ops/logging';
import { QueryNamesInterceptor } from './common/query-names';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { Clock } from './common/clock';
import { DatabaseModule } from './database/database.module';
import { HttpMetricsInterceptor } from './ops/http-metrics.interceptor';
import { OpsModule } from './ops/ops.module';
import { NetModule } from './net/net.module';
import { DnsResolver } from './net/safe-lookup';
import { WebhooksModule } from './webhooks/webhooks.module';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { UploadsModule } from './uploads/uploads.module';
import { PanelModule } from './panel/panel.module';
import { ContactsModule } from './contacts/contacts.module';

export interface AppModuleOptions {
  config?: AppConfig;
  clock?: Clock;
  /** Tests script DNS answers (rebinding, private addresses) through this. */
  dnsResolver?: DnsResolver;
  /** Extra modules (tests add a write route defined only in the test). */
  imports?: DynamicModule['imports'];
}

/** Composition root: configuration, database, schedule, feature modules, global pipe/filter/guards/interceptor. */
@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ config: options.config, clock: options.clock }),
        loggerModule(),
        DatabaseModule,
        ScheduleModule.forRoot(),
        OpsModule,
        BodyParserModule,
        NetModule.forRoot({ resolver: options.dnsResolver }),
        AuthModule,
        WebhooksModule,
        DeliveriesModule,
        UploadsModule,
        PanelModule,
        ContactsModule,
        ...(options.imports ?? []),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: ErrorEnvelopeFilter },
        { provide: APP_GUARD, useExisting: BearerAuthGuard },
        { provide: APP_GUARD, useExisting: RateLimitGuard },
        { provide: APP_INTERCEPTOR, useExisting: HttpMetricsInterceptor },
        { provide: APP_INTERCEPTOR, useClass: QueryNamesInterceptor },
      ],
    };
  }
}
