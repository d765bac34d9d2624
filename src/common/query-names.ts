import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { getMetadataStorage } from 'class-validator';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { ApiError } from './api-error';

/**
 * Query parameter names an operation accepts: the properties of its `@Query()` DTO and any `@Query('name')`.
 * Computed once per handler from the route's own metadata, so it cannot drift from what the handler reads.
 */
export function acceptedQueryNames(controller: Function, handler: Function): Set<string> {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<string, { index: number; data?: unknown }>;
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype, handler.name) ?? []) as Function[];
  const names = new Set<string>();
  for (const [key, arg] of Object.entries(args)) {
    if (Number(key.split(':')[0]) !== RouteParamtypes.QUERY) continue;
    if (typeof arg.data === 'string') names.add(arg.data);
    else if (types[arg.index]) for (const m of getMetadataStorage().getTargetValidationMetadatas(types[arg.index], '', true, false)) names.add(m.propertyName);
  }
  return names;
}

/** Raw names as sent: Express's parser silently drops `__proto__` and `constructor`, so the DTO never sees them. */
export function rawQueryNames(originalUrl: string): string[] {
  const q = originalUrl.indexOf('?');
  if (q < 0) return [];
  return [...new URLSearchParams(originalUrl.slice(q + 1)).keys()];
}

/**
 * SPEC §1: unknown query parameters are refused like unknown body fields (400 `validation_failed`), including
 * names the query parser would drop on its own (`__proto__`, `constructor`) and on operations without a query.
 */
@Injectable()
export class QueryNamesInterceptor implements NestInterceptor {
  private readonly cache = new WeakMap<Function, Set<string>>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    if (!req.originalUrl.startsWith('/api/')) return next.handle();
    const handler = context.getHandler();
    let accepted = this.cache.get(handler);
    if (!accepted) this.cache.set(handler, (accepted = acceptedQueryNames(context.getClass(), handler)));
    const unknown = [...new Set(rawQueryNames(req.originalUrl).filter((n) => !accepted.has(n)))];
    if (unknown.length) {
      throw ApiError.validation(
        `${unknown[0]} is not a recognised query parameter`,
        Object.fromEntries(unknown.map((n) => [n, ['is not a recognised query parameter']])),
      );
    }
    return next.handle();
  }
}
