import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { JsonBodyMiddleware } from './body-parser.middleware';

/** Import wherever the application is created with `bodyParser: false` (AppModule, host applications). */
@Module({ providers: [JsonBodyMiddleware] })
export class BodyParserModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes('{*splat}');
  }
}
