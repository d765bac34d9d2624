import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { DatabaseService } from './database.service';
import { PgNotifications } from './pg-notifications';
import { SqliteCheckpointer } from './sqlite-checkpointer';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config), autoLoadEntities: true }),
    }),
  ],
  providers: [DatabaseService, PgNotifications, SqliteCheckpointer],
  exports: [DatabaseService, PgNotifications],
})
export class DatabaseModule {}
