import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule, AppModuleOptions } from './app.module';
import { API_VERSION_DATE } from './common/api-version';
import { completeContract } from './common/openapi';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('OptimalDial API')
    .setDescription(
      'Phone-list uploads, credits, and signed, retried webhooks. Authenticate with `Authorization: Bearer od_live_…`. ' +
        'Errors use one envelope: `{"detail": "..."}` or `{"detail": {"error": "<code>", ...}}`.',
    )
    .setVersion(API_VERSION_DATE)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key minted with `npm run cli -- key:create`' })
    .addSecurityRequirements('bearer')
    .build();
  return completeContract(
    SwaggerModule.createDocument(app, config, {
      operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
    }),
  );
}

/** Everything main.ts and the e2e tests share, so a test app behaves like production. */
export async function createApp(options: AppModuleOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.set('etag', false);
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
    customSiteTitle: 'OptimalDial API',
  });
  return app;
}
