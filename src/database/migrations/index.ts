import { MigrationInterface } from 'typeorm';
import { Auth1732300000000 } from './1732300000000-auth';
import { WebhooksDeliveries1732300001000 } from './1732300001000-webhooks-deliveries';
import { Uploads1732300002000 } from './1732300002000-uploads';
import { contractMigration } from './1732300013000-contract';

/** Listed explicitly (not globbed) so the same list works from ts-node, jest and the built dist. */
export const MIGRATIONS = [Auth1732300000000, WebhooksDeliveries1732300001000, Uploads1732300002000];

/** Every migration, in order; the ones that encrypt existing rows are built with the secrets key. */
export function migrationsFor(secretsKey: Buffer): Array<new () => MigrationInterface> {
  return [...MIGRATIONS, contractMigration(secretsKey)];
}
