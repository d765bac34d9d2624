import { MigrationInterface } from 'typeorm';
import { Auth1732300000000 } from './1732300000000-auth';
import { WebhooksDeliveries1732300001000 } from './1732300001000-webhooks-deliveries';
import { Uploads1732300002000 } from './1732300002000-uploads';
import { Contacts1732300003000 } from './1732300003000-contacts';
import { DeliveryContactId1732300004000 } from './1732300004000-delivery-contact-id';
import { DeliveryTargetOrigin1732300012000 } from './1732300012000-delivery-target-origin';
import { contractMigration } from './1732300013000-contract';
import { WebhookStats1732300016000 } from './1732300016000-webhook-stats';
import { SparseDeliveryIndexes1732300017000 } from './1732300017000-sparse-delivery-indexes';
import { QueueAutovacuum1732300018000 } from './1732300018000-queue-autovacuum';
import { AttemptsWithoutDeliveryFk1732300019000 } from './1732300019000-attempts-without-delivery-fk';

/**
 * Every migration, in order (listed explicitly, not globbed, so the same list works from ts-node, jest and the
 * built dist). The ones that encrypt existing rows are built with the secrets key.
 */
export function migrationsFor(secretsKey: Buffer): Array<new () => MigrationInterface> {
  return [
    Auth1732300000000,
    WebhooksDeliveries1732300001000,
    Uploads1732300002000,
    Contacts1732300003000,
    DeliveryContactId1732300004000,
    DeliveryTargetOrigin1732300012000,
    contractMigration(secretsKey),
    WebhookStats1732300016000,
    SparseDeliveryIndexes1732300017000,
    QueueAutovacuum1732300018000,
    AttemptsWithoutDeliveryFk1732300019000,
  ];
}
