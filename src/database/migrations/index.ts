import { Auth1732300000000 } from './1732300000000-auth';
import { WebhooksDeliveries1732300001000 } from './1732300001000-webhooks-deliveries';
import { Uploads1732300002000 } from './1732300002000-uploads';
import { DeliveryTargetOrigin1732300012000 } from './1732300012000-delivery-target-origin';
import { WebhookStats1732300016000 } from './1732300016000-webhook-stats';

/** Listed explicitly (not globbed) so the same list works from ts-node, jest and the built dist. */
export const MIGRATIONS = [Auth1732300000000, WebhooksDeliveries1732300001000, Uploads1732300002000, DeliveryTargetOrigin1732300012000, WebhookStats1732300016000];
