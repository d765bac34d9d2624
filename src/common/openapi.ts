import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';

/** The SPEC §2 envelope as an OpenAPI schema: `detail` is a message or an object with an `error` code. */
export class ErrorDetailObjectDto {
  @ApiProperty({ example: 'validation_failed', description: 'Machine-readable error code' })
  error: string;

  @ApiProperty({ required: false, example: 'description must be at most 500 characters' })
  message?: string;
}

export class ErrorEnvelopeDto {
  @ApiProperty({
    oneOf: [{ type: 'string', example: 'Not found' }, { $ref: '#/components/schemas/ErrorDetailObjectDto' }],
    description: 'A message, or an object with a machine-readable `error` code and context fields',
  })
  detail: string | ErrorDetailObjectDto;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed input (including a malformed JSON body) or a violated constraint',
  401: 'Missing, malformed, unknown, expired or revoked API key',
  402: 'Not enough credits',
  403: 'The key lacks the scope, or the organization lacks an active subscription',
  404: 'Not found, or belongs to another organization',
  409: 'State conflict',
  413: 'Request body too large',
  415: 'Unsupported content type',
  422: 'Too few valid phone numbers',
  429: 'Rate limit exceeded (see Retry-After)',
  500: 'Unexpected error; the body carries the request id',
};

/** Documents each listed error status (plus 500) with the envelope schema. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto, ErrorDetailObjectDto),
    ...[...statuses, 500].map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Unexpected error; the body carries the request id',
        schema: { $ref: getSchemaPath(ErrorEnvelopeDto) },
      }),
    ),
  );
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The document's contract pass (SPEC §1): what every operation can answer, and the headers a client reads.      */

const WRITE_METHODS = new Set(['post', 'put', 'patch', 'delete']);
const ENVELOPE_REF = { $ref: '#/components/schemas/ErrorEnvelopeDto' };

type HeaderObject = { description: string; required: boolean; schema: Record<string, unknown> };
type ResponseObject = { description: string; headers?: Record<string, HeaderObject>; content?: Record<string, { schema: unknown }> };

const header = (description: string, required: boolean, schema: Record<string, unknown> = { type: 'string' }): HeaderObject => ({ description, required, schema });

/** Statuses any operation under /api/v1 can answer whatever its route does: the JSON body parser runs on every route. */
const STATUSES_OF_EVERY_OPERATION = [400, 413, 500] as const;
/** ... and every write (POST/PUT/PATCH/DELETE) is rate limited. */
const STATUSES_OF_EVERY_WRITE = [429] as const;

const RESPONSE_HEADERS = {
  requestId: header('The request id (yours, echoed, when you sent one); the same id is in the log line and in a 500 body', true),
  wwwAuthenticate: header('`Bearer`', true),
  retryAfter: header('Seconds until the tighter rate-limit window resets', true, { type: 'integer', minimum: 1 }),
  rateLimit: (required: boolean) => ({
    'X-RateLimit-Limit': header('Write requests allowed per minute by the tighter counter (API key or organization)', required, { type: 'integer' }),
    'X-RateLimit-Remaining': header('Write requests left in the current window of that counter', required, { type: 'integer', minimum: 0 }),
    'X-RateLimit-Reset': header('Unix seconds at which that window resets', required, { type: 'integer' }),
  }),
};

/**
 * Completes every `/api/v1` operation of a document built from the decorators, so the statuses and headers the
 * service really sends are declared once, here, for every module (a new controller gets them too):
 *  - 400 (malformed JSON, a violated constraint), 413 (body over its limit) and 500 on every operation; 429 on
 *    every write; each with the §2 envelope schema;
 *  - `X-Request-Id` on every response; `WWW-Authenticate` on 401; `Retry-After` on 429;
 *    `X-RateLimit-Limit/Remaining/Reset` on every write response that passed the rate limiter: required on 2xx and
 *    429, optional on the other errors (401, a scope 403 and a malformed body are answered before the limiter).
 * Route-specific statuses (402, 404, 409, ...) stay with the route, in `@ApiErrorResponses(...)`.
 */
export function completeContract<T extends { paths: Record<string, Record<string, any>> }>(document: T): T {
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/v1')) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (!operation || typeof operation !== 'object' || !operation.responses) continue;
      const write = WRITE_METHODS.has(method);
      const responses = operation.responses as Record<string, ResponseObject>;
      for (const status of [...STATUSES_OF_EVERY_OPERATION, ...(write ? STATUSES_OF_EVERY_WRITE : [])]) {
        responses[status] ??= { description: DESCRIPTIONS[status], content: { 'application/json': { schema: ENVELOPE_REF } } };
      }
      for (const [code, response] of Object.entries(responses)) {
        const status = Number(code);
        const headers: Record<string, HeaderObject> = { 'X-Request-Id': RESPONSE_HEADERS.requestId };
        if (status === 401) headers['WWW-Authenticate'] = RESPONSE_HEADERS.wwwAuthenticate;
        if (status === 429) headers['Retry-After'] = RESPONSE_HEADERS.retryAfter;
        if (write) Object.assign(headers, RESPONSE_HEADERS.rateLimit(status < 300 || status === 429));
        response.headers = { ...headers, ...(response.headers ?? {}) };
      }
    }
  }
  return document;
}
