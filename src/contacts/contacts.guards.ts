import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '../common/api-error';
import { Principal, PRINCIPAL_KEY } from '../common/principal';
import { ContactsService } from './contacts.service';

/**
 * SPEC §11.2: every Contacts route answers 403 feature_not_enabled for an organization without
 * `single_contact_api` — after authentication and body parsing (the global guards and the JSON middleware have
 * run), before validation, charge or idempotency lookup (pipes and the handler run after guards).
 */
@Injectable()
export class ContactsFeatureGuard implements CanActivate {
  constructor(private readonly contacts: ContactsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const principal = (req as unknown as Record<string, Principal | undefined>)[PRINCIPAL_KEY];
    if (!principal) return true; // the bearer guard has refused already
    await this.contacts.assertFeature(principal);
    return true;
  }
}

/** `POST /contacts` takes JSON only (SPEC §11.3): anything else is a 415, after the feature gate, before validation. */
@Injectable()
export class JsonOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') throw new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Use application/json');
    return true;
  }
}
