import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Scope } from './scopes';

/** Who is calling: resolved by the bearer guard, handed to services as an explicit argument. */
export interface Principal {
  organizationId: string;
  userId: string;
  apiKeyId: string;
  scopes: Scope[];
}

export const PRINCIPAL_KEY = 'principal';

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest();
  return req[PRINCIPAL_KEY];
});

export const IS_PUBLIC = 'isPublic';
/** Routes outside the API (health, metrics, signed file downloads) that need no API key. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const REQUIRED_SCOPES = 'requiredScopes';
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(REQUIRED_SCOPES, scopes);

export const ANY_OF_SCOPES = 'anyOfScopes';
/** Allowed with any one of the scopes (delivery queries about uploads are also `uploads:read`, SPEC §3.2). */
export const RequireAnyScope = (...scopes: Scope[]) => SetMetadata(ANY_OF_SCOPES, scopes);
