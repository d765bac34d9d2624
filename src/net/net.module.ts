import { DynamicModule, Global, Module } from '@nestjs/common';
import { HttpModule } from '@nestjs/axios';
import { AppConfig } from '../config/app-config';
import { axiosSafeConfig, createSafeAgents } from './http-clients';
import { AddressPolicy, DnsResolver } from './safe-lookup';
import { UrlChecker } from './url-checker';

/**
 * The only way out of the service. AddressPolicy is the SPEC §5.3 rule set; the @nestjs/axios HttpService
 * exported here dials through it (registration ping, any provider call), and the delivery engine builds its
 * undici dispatcher from the same AddressPolicy. Tests pass a scripted DNS resolver.
 */
@Global()
@Module({})
export class NetModule {
  static forRoot(options: { resolver?: DnsResolver } = {}): DynamicModule {
    const policyProvider = {
      provide: AddressPolicy,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new AddressPolicy({ allowHttp: config.webhookAllowHttp, allowedCidrs: config.webhookAllowedCidrs, resolver: options.resolver }),
    };
    return {
      module: NetModule,
      imports: [
        HttpModule.registerAsync({
          inject: [AddressPolicy, AppConfig],
          extraProviders: [policyProvider],
          useFactory: (policy: AddressPolicy, config: AppConfig) =>
            axiosSafeConfig(createSafeAgents(policy, { ca: config.delivery.extraCaPem ?? undefined, keepAlive: false })),
        }),
      ],
      providers: [policyProvider, UrlChecker],
      exports: [AddressPolicy, UrlChecker, HttpModule],
    };
  }
}
