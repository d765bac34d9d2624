import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import {
  AuthModule,
  ConfigModule,
  CurrentPrincipal,
  DatabaseModule,
  DatabaseService,
  DeliveriesModule,
  EventsService,
  NetModule,
  OpsModule,
  Principal,
  UploadsModule,
  WebhooksModule,
} from '../../src';
import type { AppConfig, Clock } from '../../src';

/**
 * A separate host application (SPEC §10): its own root module and its own domain (invoices), importing the
 * feature modules from the package entry only. It never touches a repository or an entity.
 */
@Controller('host/invoices')
class InvoicesController {
  constructor(
    private readonly db: DatabaseService,
    private readonly events: EventsService,
  ) {}

  /** The host's own state change and its webhook event commit together through the outbox. */
  @Post(':endpointId/paid')
  @HttpCode(200)
  async paid(@CurrentPrincipal() p: Principal, @Body() body: { invoice_id: string; endpoint_id: string }) {
    const event = await this.db.transaction((m) =>
      this.events.publish(m, p.organizationId, 'invoice.paid', { invoice: { id: body.invoice_id } }, { onlyEndpointId: body.endpoint_id }),
    );
    return { event_id: event.id };
  }
}

@Module({})
export class HostAppModule {
  static forRoot(config: AppConfig, clock: Clock) {
    return {
      module: HostAppModule,
      imports: [
        ConfigModule.forRoot({ config, clock }),
        DatabaseModule,
        ScheduleModule.forRoot(),
        OpsModule,
        NetModule.forRoot(),
        AuthModule,
        WebhooksModule,
        DeliveriesModule,
        UploadsModule,
      ],
      controllers: [InvoicesController],
    };
  }
}
