import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * Every setting of the service, read once from environment variables and validated at start.
 * A bad value throws a ConfigError naming the variable, which stops the service before it listens.
 */
export class ConfigError extends Error {}

export type Env = Record<string, string | undefined>;

export interface RateLimitConfig {
  perKeyPerMinute: number;
  perOrganizationPerMinute: number;
  windowMs: number;
}

export interface DeliveryConfig {
  processorEnabled: boolean;
  timeoutMs: number;
  pingTimeoutMs: number;
  batchSize: number;
  globalConcurrency: number;
  perEndpointConcurrency: number;
  leaseMs: number;
  tickMs: number;
  retentionDays: number;
  /** PEM bundle appended to Node's roots for outbound TLS (tests with self-signed receivers). */
  extraCaPem: string | null;
  shutdownGraceMs: number;
}

export interface UploadConfig {
  processorEnabled: boolean;
  maxCsvBytes: number;
  maxJsonEntries: number;
  maxJsonBodyBytes: number;
  leaseMs: number;
  tickMs: number;
}

export interface ContactConfig {
  processorEnabled: boolean;
  batchSize: number;
  leaseMs: number;
  tickMs: number;
}

export class AppConfig {
  readonly nodeEnv: string;
  readonly port: number;
  readonly httpEnabled: boolean;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  readonly databaseType: 'better-sqlite3' | 'postgres';
  readonly sqlitePath: string;
  readonly dbPoolSize: number;
  /** How long a request waits for a pooled PostgreSQL connection before it gets a 503 (issue 17: never a hang). */
  readonly dbPoolAcquireTimeoutMs: number;
  readonly dbStatementTimeoutMs: number;
  readonly publicBaseUrl: string;
  readonly secretsEncryptionKey: Buffer;
  readonly secretsKeyGenerated: boolean;
  readonly logLevel: string;
  readonly webhookAllowHttp: boolean;
  readonly webhookAllowedCidrs: string[];
  readonly rateLimit: RateLimitConfig;
  readonly delivery: DeliveryConfig;
  readonly upload: UploadConfig;
  readonly contact: ContactConfig;
  readonly downloadSigningKey: Buffer;

  constructor(values: Omit<AppConfig, never>) {
    Object.assign(this, values);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

class EnvReader {
  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v === '' ? fallback : v;
  }

  optional(name: string): string | null {
    const v = this.env[name];
    return v === undefined || v === '' ? null : v;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.string(name, fallback);
    if (!allowed.includes(v as T)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  }
}

function parseKey(name: string, raw: string): Buffer {
  const trimmed = raw.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed, 'base64');
  if (!key || key.length !== 32) {
    throw new ConfigError(`${name} must be 32 bytes as 64 hex characters or base64, got a value of length ${trimmed.length}`);
  }
  return key;
}

/** Development convenience: a key generated once into DATA_DIR so secrets survive restarts. */
function loadOrCreateKeyFile(dataDir: string, file: string): { key: Buffer; generated: boolean } {
  const path = join(dataDir, file);
  if (existsSync(path)) return { key: parseKey(path, readFileSync(path, 'utf8')), generated: false };
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, generated: true };
}

export function loadConfig(env: Env = process.env): AppConfig {
  const r = new EnvReader(env);
  const nodeEnv = r.string('NODE_ENV', 'development');
  const port = r.int('PORT', 3000, 0, 65535);
  const dataDirRaw = r.string('DATA_DIR', './data');
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(process.cwd(), dataDirRaw);
  return new AppConfig({
    nodeEnv,
    port,
    httpEnabled: r.bool('HTTP_ENABLED', true),
    dataDir,
    ...databaseConfig(r, dataDir),
    publicBaseUrl: publicBaseUrl(r, port),
    ...secretsConfig(r, dataDir, nodeEnv === 'production'),
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    webhookAllowHttp: r.bool('WEBHOOK_ALLOW_HTTP', false),
    webhookAllowedCidrs: allowedCidrs(r),
    rateLimit: {
      perKeyPerMinute: r.int('RATE_LIMIT_PER_KEY', 60, 1),
      perOrganizationPerMinute: r.int('RATE_LIMIT_PER_ORGANIZATION', 600, 1),
      windowMs: r.int('RATE_LIMIT_WINDOW_MS', 60_000, 1000),
    },
    delivery: deliveryConfig(r),
    upload: uploadConfig(r),
    contact: contactConfig(r),
  });
}

function databaseConfig(r: EnvReader, dataDir: string): Pick<AppConfig, 'databaseUrl' | 'databaseType' | 'sqlitePath' | 'dbPoolSize' | 'dbPoolAcquireTimeoutMs' | 'dbStatementTimeoutMs'> {
  const databaseUrl = r.optional('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite database)');
  }
  return {
    databaseUrl,
    databaseType: databaseUrl ? 'postgres' : 'better-sqlite3',
    sqlitePath: join(dataDir, r.string('SQLITE_FILE', 'optimaldial.sqlite')),
    dbPoolSize: r.int('DB_POOL_SIZE', 10, 1, 1000),
    dbPoolAcquireTimeoutMs: r.int('DB_POOL_ACQUIRE_TIMEOUT_MS', 5_000, 100, 600_000),
    dbStatementTimeoutMs: r.int('DB_STATEMENT_TIMEOUT_MS', 30_000, 0),
  };
}

function publicBaseUrl(r: EnvReader, port: number): string {
  const url = r.string('PUBLIC_BASE_URL', `http://localhost:${port}`).replace(/\/+$/, '');
  try {
    const u = new URL(url);
    if (!['http:', 'https:'].includes(u.protocol)) throw new Error();
  } catch {
    throw new ConfigError(`PUBLIC_BASE_URL must be an absolute http(s) URL, got "${url}"`);
  }
  return url;
}

function secretsConfig(r: EnvReader, dataDir: string, production: boolean): Pick<AppConfig, 'secretsEncryptionKey' | 'secretsKeyGenerated' | 'downloadSigningKey'> {
  const rawKey = r.optional('SECRETS_ENCRYPTION_KEY');
  let secretsEncryptionKey: Buffer;
  let secretsKeyGenerated = false;
  if (rawKey) secretsEncryptionKey = parseKey('SECRETS_ENCRYPTION_KEY', rawKey);
  else if (production) throw new ConfigError('SECRETS_ENCRYPTION_KEY is required when NODE_ENV=production');
  else ({ key: secretsEncryptionKey, generated: secretsKeyGenerated } = loadOrCreateKeyFile(dataDir, 'secrets.key'));

  // Download URLs are signed with a key derived from the secrets key, so one secret covers both.
  const rawDownloadKey = r.optional('DOWNLOAD_SIGNING_KEY');
  const downloadSigningKey = rawDownloadKey
    ? parseKey('DOWNLOAD_SIGNING_KEY', rawDownloadKey)
    : createHmac('sha256', secretsEncryptionKey).update('download-urls').digest();
  return { secretsEncryptionKey, secretsKeyGenerated, downloadSigningKey };
}

function allowedCidrs(r: EnvReader): string[] {
  const cidrs = r.string('WEBHOOK_ALLOWED_CIDRS', '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of cidrs) {
    if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c)) throw new ConfigError(`WEBHOOK_ALLOWED_CIDRS has an invalid CIDR "${c}"`);
  }
  return cidrs;
}

function extraCaPem(r: EnvReader): string | null {
  const caFile = r.optional('WEBHOOK_EXTRA_CA_FILE');
  if (!caFile) return null;
  try {
    return readFileSync(caFile, 'utf8');
  } catch {
    throw new ConfigError(`WEBHOOK_EXTRA_CA_FILE cannot be read: ${caFile}`);
  }
}

function deliveryConfig(r: EnvReader): DeliveryConfig {
  return {
    processorEnabled: r.bool('DELIVERY_PROCESSOR_ENABLED', true),
    timeoutMs: r.int('DELIVERY_TIMEOUT_MS', 10_000, 100, 600_000),
    pingTimeoutMs: r.int('WEBHOOK_PING_TIMEOUT_MS', 5_000, 100, 600_000),
    batchSize: r.int('DELIVERY_BATCH_SIZE', 200, 1, 10_000),
    globalConcurrency: r.int('DELIVERY_CONCURRENCY', 128, 1, 10_000),
    perEndpointConcurrency: r.int('DELIVERY_PER_ENDPOINT_CONCURRENCY', 10, 1, 1000),
    leaseMs: r.int('DELIVERY_LEASE_MS', 60_000, 1000),
    tickMs: r.int('DELIVERY_TICK_MS', 1000, 50),
    retentionDays: r.int('RETENTION_DAYS', 60, 1),
    extraCaPem: extraCaPem(r),
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 15_000, 0),
  };
}

function uploadConfig(r: EnvReader): UploadConfig {
  return {
    processorEnabled: r.bool('UPLOAD_PROCESSOR_ENABLED', true),
    maxCsvBytes: r.int('UPLOAD_MAX_CSV_BYTES', 100 * 1024 * 1024, 1),
    maxJsonEntries: r.int('UPLOAD_MAX_JSON_ENTRIES', 250_000, 1),
    maxJsonBodyBytes: r.int('UPLOAD_MAX_JSON_BODY_BYTES', 64 * 1024 * 1024, 1024),
    leaseMs: r.int('UPLOAD_LEASE_MS', 300_000, 1000),
    tickMs: r.int('UPLOAD_TICK_MS', 2000, 50),
  };
}

function contactConfig(r: EnvReader): ContactConfig {
  return {
    processorEnabled: r.bool('CONTACT_PROCESSOR_ENABLED', true),
    batchSize: r.int('CONTACT_BATCH_SIZE', 200, 1, 5000),
    leaseMs: r.int('CONTACT_LEASE_MS', 60_000, 1000),
    tickMs: r.int('CONTACT_TICK_MS', 1000, 50),
  };
}
