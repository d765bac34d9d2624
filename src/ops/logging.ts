import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { assignRequestId } from '../common/request-id';

/**
 * Structured JSON logs with the request id; human-readable coloured lines (pino-pretty, the nestjs-pino convention)
 * for a person at a terminal. Credentials are redacted at the source: the Authorization header,
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

/**
 * Pretty lines only for a person: stdout is a terminal and the service is neither in production (always JSON, for
 * the log pipeline) nor under test (jest sets NODE_ENV=test, and the suites read log lines as JSON).
 */
export function prettyLogs(nodeEnv: string, stdoutIsTTY: boolean | undefined): boolean {
  return stdoutIsTTY === true && nodeEnv !== 'production' && nodeEnv !== 'test';
}

/** pino-pretty runs in pino's worker thread; the request line gets a one-glance message instead of "request completed". */
const PRETTY = {
  transport: {
    target: 'pino-pretty',
    options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,context,req,res,responseTime', messageFormat: '{if context}[{context}] {end}{msg}' },
  },
  customSuccessMessage: (req: { method?: string; url?: string }, res: { statusCode: number }, ms: number) =>
    `${req.method} ${req.url?.split('?')[0]} ${res.statusCode} ${Math.round(ms)} ms`,
};

export function loggerModule() {
  return LoggerModule.forRootAsync({
    inject: [AppConfig],
    useFactory: (config: AppConfig) => ({
      pinoHttp: {
        ...(prettyLogs(config.nodeEnv, process.stdout.isTTY) ? PRETTY : {}),
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
