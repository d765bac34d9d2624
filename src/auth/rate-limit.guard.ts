import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { Principal, PRINCIPAL_KEY } from '../common/principal';
import { RateLimitService } from './rate-limit.service';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Applies SPEC §3.4 to every authenticated write route automatically; reads are not counted. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly limits: RateLimitService,
    private readonly clock: Clock,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const principal = (req as unknown as Record<string, Principal | undefined>)[PRINCIPAL_KEY];
    if (!principal || !WRITE_METHODS.has(req.method)) return true;
    const res = context.switchToHttp().getResponse<Response>();
    const { exceeded, tightest } = await this.limits.hit(principal.apiKeyId, principal.organizationId);
    const nowSec = this.clock.nowMs() / 1000;
    const shown = exceeded ?? tightest;
    res.setHeader('X-RateLimit-Limit', String(shown.limit));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, shown.limit - shown.observed)));
    res.setHeader('X-RateLimit-Reset', String(Math.ceil(shown.resetAtMs / 1000)));
    if (exceeded) {
      const retryAfter = Math.max(1, Math.ceil(exceeded.resetAtMs / 1000 - nowSec));
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        {
          error: 'rate_limit_exceeded',
          message: `Rate limit of ${exceeded.limit} write requests per minute per ${exceeded.scope === 'api_key' ? 'API key' : 'organization'} exceeded`,
          limit: exceeded.limit,
          observed: exceeded.observed,
          retry_after_seconds: retryAfter,
          scope: exceeded.scope,
        },
        { 'Retry-After': String(retryAfter) },
      );
    }
    return true;
  }
}
