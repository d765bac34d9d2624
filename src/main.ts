import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { prettyLogs } from './ops/logging';
import { startBanner } from './ops/start-banner';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
  const app = await createApp({ config });
  const logger = new Logger('Bootstrap');
  // SIGTERM/SIGINT: stop claiming, let attempts on the wire finish (SHUTDOWN_GRACE_MS), release the rest, exit 0.
  // Handled here rather than by enableShutdownHooks(), which re-raises the signal and so never exits 0.
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      logger.log(`${signal} received: shutting down`);
      app.close().then(
        () => process.exit(0),
        (e) => {
          logger.error({ err: e }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  if (config.secretsKeyGenerated) {
    logger.warn(`SECRETS_ENCRYPTION_KEY is not set: generated a development key in ${config.dataDir}/secrets.key. Set it in production.`);
  }
  if (config.webhookAllowHttp) logger.warn('WEBHOOK_ALLOW_HTTP is on: webhook URLs may use plain http. Development and tests only.');
  if (config.webhookAllowedCidrs.length) {
    logger.warn(`WEBHOOK_ALLOWED_CIDRS lets webhooks reach ${config.webhookAllowedCidrs.join(', ')}. Development and tests only.`);
  }
  if (!config.httpEnabled) {
    await app.init();
    logger.log('HTTP_ENABLED=false: running as a worker (no HTTP listener)');
    return;
  }
  await app.listen(config.port);
  const banner = startBanner(config);
  // A person at a terminal reads the block; a log pipeline gets the same facts as fields of one JSON line.
  if (prettyLogs(config.nodeEnv, process.stdout.isTTY)) logger.log(banner.block);
  else logger.log({ ...banner.fields, msg: banner.message });
}

void main();
