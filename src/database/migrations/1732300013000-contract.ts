import { MigrationInterface, QueryRunner } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { SecretCipher } from '../../crypto/secret-cipher';
import { openUrl, sealUrl } from '../../net/url-credentials';
import { onPostgres } from './schema-helpers';

/**
 * Issue 13:
 *  - `deliveries.schedule_started_after`: a manual retry keeps the attempt numbering and restarts the schedule
 *    (SPEC §5.8), so the schedule step is counted from here;
 *  - URL user info encrypted at rest: `webhook_endpoints.url`, `deliveries.target_url` and `uploads.webhook.url`
 *    keep the masked URL (`https://***:***@host/…`), the user info moves to a `*_credentials_encrypted` column
 *    (AES-256-GCM under SECRETS_ENCRYPTION_KEY, the signing secrets' cipher). Existing rows are encrypted here.
 *
 * Columns are added with plain `ALTER TABLE … ADD COLUMN` (the same statement on both engines) rather than
 * QueryRunner.addColumn: on SQLite that rebuilds the table, and dropping the old `deliveries` with foreign keys on
 * would cascade into `delivery_attempts`.
 *
 * The migration needs the encryption key, so it is built by a factory (see migrations/index.ts).
 */
export function contractMigration(key: Buffer): new () => MigrationInterface {
  // the signing secrets' cipher itself, so rows migrated here decrypt exactly like rows the service writes
  const cipher = new SecretCipher({ secretsEncryptionKey: key } as AppConfig);
  const encrypt = (plaintext: string): string => cipher.encrypt(plaintext);
  const decrypt = (stored: string): string => cipher.decrypt(stored);

  return class Contract1732300013000 implements MigrationInterface {
    name = 'Contract1732300013000';

    async up(q: QueryRunner): Promise<void> {
      await q.query(`ALTER TABLE "deliveries" ADD COLUMN "schedule_started_after" integer NOT NULL DEFAULT 0`);
      await q.query(`ALTER TABLE "deliveries" ADD COLUMN "target_credentials_encrypted" text NULL`);
      await q.query(`ALTER TABLE "webhook_endpoints" ADD COLUMN "url_credentials_encrypted" text NULL`);
      await q.query(`ALTER TABLE "uploads" ADD COLUMN "webhook_credentials_encrypted" text NULL`);
      const p = placeholders(q);

      for (const row of await q.query(`SELECT id, url FROM webhook_endpoints WHERE url LIKE '%@%'`)) {
        const sealed = sealUrl(row.url, encrypt);
        if (!sealed.credentialsEncrypted) continue;
        await q.query(`UPDATE webhook_endpoints SET url = ${p(1)}, url_credentials_encrypted = ${p(2)} WHERE id = ${p(3)}`, [sealed.url, sealed.credentialsEncrypted, row.id]);
      }
      // An endpoint delivery's target_url only records where it went (the endpoint's URL is used to send): masked
      // and nothing more. A per-request delivery keeps its user info, encrypted.
      for (const row of await q.query(`SELECT id, target_url, webhook_endpoint_id FROM deliveries WHERE target_url LIKE '%@%'`)) {
        const sealed = sealUrl(row.target_url, encrypt);
        if (!sealed.credentialsEncrypted) continue;
        await q.query(`UPDATE deliveries SET target_url = ${p(1)}, target_credentials_encrypted = ${p(2)} WHERE id = ${p(3)}`, [
          sealed.url,
          row.webhook_endpoint_id ? null : sealed.credentialsEncrypted,
          row.id,
        ]);
      }
      for (const row of await q.query(`SELECT id, webhook FROM uploads WHERE webhook LIKE '%@%'`)) {
        const hash = JSON.parse(row.webhook) as { url: string; delay: number };
        const sealed = sealUrl(hash.url, encrypt);
        if (!sealed.credentialsEncrypted) continue;
        await q.query(`UPDATE uploads SET webhook = ${p(1)}, webhook_credentials_encrypted = ${p(2)} WHERE id = ${p(3)}`, [
          JSON.stringify({ ...hash, url: sealed.url }),
          sealed.credentialsEncrypted,
          row.id,
        ]);
      }
    }

    async down(q: QueryRunner): Promise<void> {
      const p = placeholders(q);
      for (const row of await q.query(`SELECT id, url, url_credentials_encrypted FROM webhook_endpoints WHERE url_credentials_encrypted IS NOT NULL`)) {
        await q.query(`UPDATE webhook_endpoints SET url = ${p(1)} WHERE id = ${p(2)}`, [openUrl(row.url, row.url_credentials_encrypted, decrypt), row.id]);
      }
      for (const row of await q.query(`SELECT id, target_url, target_credentials_encrypted FROM deliveries WHERE target_credentials_encrypted IS NOT NULL`)) {
        await q.query(`UPDATE deliveries SET target_url = ${p(1)} WHERE id = ${p(2)}`, [openUrl(row.target_url, row.target_credentials_encrypted, decrypt), row.id]);
      }
      for (const row of await q.query(`SELECT id, webhook, webhook_credentials_encrypted FROM uploads WHERE webhook_credentials_encrypted IS NOT NULL`)) {
        const hash = JSON.parse(row.webhook) as { url: string; delay: number };
        await q.query(`UPDATE uploads SET webhook = ${p(1)} WHERE id = ${p(2)}`, [JSON.stringify({ ...hash, url: openUrl(hash.url, row.webhook_credentials_encrypted, decrypt) }), row.id]);
      }
      // plain DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL), for the same reason as ADD COLUMN above
      await q.query(`ALTER TABLE "uploads" DROP COLUMN "webhook_credentials_encrypted"`);
      await q.query(`ALTER TABLE "webhook_endpoints" DROP COLUMN "url_credentials_encrypted"`);
      await q.query(`ALTER TABLE "deliveries" DROP COLUMN "target_credentials_encrypted"`);
      await q.query(`ALTER TABLE "deliveries" DROP COLUMN "schedule_started_after"`);
    }
  };
}

function placeholders(q: QueryRunner): (i: number) => string {
  return onPostgres(q) ? (i) => `$${i}` : () => '?';
}
