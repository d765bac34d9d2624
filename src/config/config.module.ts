import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig, loadConfig } from './app-config';

/**
 * The runtime environment every module reads: validated configuration and the clock.
 * `forRoot()` reads process.env; tests and host applications may pass a ready AppConfig and a test clock.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(options: { config?: AppConfig; clock?: Clock } = {}): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useFactory: () => options.config ?? loadConfig() },
        { provide: Clock, useValue: options.clock ?? new Clock() },
      ],
      exports: [AppConfig, Clock],
    };
  }
}
