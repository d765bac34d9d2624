import { Auth1732300000000 } from './1732300000000-auth';
import { WebhooksDeliveries1732300001000 } from './1732300001000-webhooks-deliveries';
import { Uploads1732300002000 } from './1732300002000-uploads';
import { Contacts1732300003000 } from './1732300003000-contacts';
import { DeliveryContactId1732300004000 } from './1732300004000-delivery-contact-id';

/** Listed explicitly (not globbed) so the same list works from ts-node, jest and the built dist. */
export const MIGRATIONS = [Auth1732300000000, WebhooksDeliveries1732300001000, Uploads1732300002000, Contacts1732300003000, DeliveryContactId1732300004000];
