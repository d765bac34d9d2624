import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/api-error';
import { ANY_OF_SCOPES, IS_PUBLIC, PRINCIPAL_KEY, REQUIRED_SCOPES } from '../common/principal';
import { AuthService } from './auth.service';
import { Scope } from '../common/scopes';

const MESSAGES = {
  missing: 'Missing API key: send Authorization: Bearer <key>',
  malformed: 'Malformed Authorization header: expected Bearer od_live_…',
  unknown: 'Invalid API key',
  expired: 'API key has expired',
  revoked: 'API key has been revoked',
} as const;

/** Global guard: every route needs a valid API key unless marked @Public(); then @RequireScopes is enforced. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const result = await this.auth.authenticate(bearerToken(req));
    if ('failure' in result) throw ApiError.unauthorized(MESSAGES[result.failure]);
    (req as unknown as Record<string, unknown>)[PRINCIPAL_KEY] = result.principal;
    const required = this.reflector.getAllAndOverride<Scope[] | undefined>(REQUIRED_SCOPES, targets) ?? [];
    for (const scope of required) {
      if (!result.principal.scopes.includes(scope)) {
        throw ApiError.insufficientScope(scope);
      }
    }
    const anyOf = this.reflector.getAllAndOverride<Scope[] | undefined>(ANY_OF_SCOPES, targets);
    if (anyOf?.length && !anyOf.some((s) => result.principal.scopes.includes(s))) {
      throw ApiError.insufficientScope(anyOf[0]);
    }
    return true;
  }
}

/** Exactly one `Authorization: Bearer <token>` header; anything else is treated as missing or malformed. */
function bearerToken(req: Request): string | null {
  const raw = req.headers.authorization;
  if (raw === undefined) return null;
  // Node joins repeated Authorization headers with ", "; rawHeaders tells us there were several.
  const count = req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'authorization').length;
  if (count !== 1) return '';
  const m = /^Bearer ([^\s]+)$/i.exec(raw.trim());
  return m ? m[1] : '';
}
