import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { JsonBodyMiddleware } from './body-parser.middleware';
import { ClientErrorEnvelope } from './client-error';

/**
 * Import wherever the application is created with `bodyParser: false` (AppModule, host applications). Also answers
 * requests Node's HTTP parser refuses in the SPEC §2 envelope (ClientErrorEnvelope).
 */
@Module({ providers: [JsonBodyMiddleware, ClientErrorEnvelope] })
export class BodyParserModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes('{*splat}');
  }
}
