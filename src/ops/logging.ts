import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { assignRequestId } from '../common/request-id';

/**
 * Structured JSON logs with the request id. Credentials are redacted at the source: the Authorization header,
 * webhook secrets and signature headers never reach a log line.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-optimaldial-signature"]',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
  '*.secret',
  '*.api_key',
  '*.apiKey',
  '*.key_hash',
  '*.keyHash',
  '*.secretEncrypted',
];

export function loggerModule() {
  return LoggerModule.forRootAsync({
    inject: [AppConfig],
    useFactory: (config: AppConfig) => ({
      pinoHttp: {
        level: config.logLevel,
        genReqId: (req, res) => assignRequestId(req, res),
        customAttributeKeys: { reqId: 'request_id' },
        redact: { paths: REDACT_PATHS, censor: '[redacted]' },
        autoLogging: { ignore: (req) => req.url === '/health/live' || req.url === '/metrics' },
        serializers: {
          req: (req: { id: string; method: string; url: string; headers: Record<string, unknown> }) => ({
            id: req.id,
            method: req.method,
            // the query string of a signed download URL carries its signature
            url: req.url?.split('?')[0],
            headers: req.headers,
          }),
        },
      },
    }),
  });
}
