import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * The SPEC §2 envelope: `{"detail": "<message>"}` or `{"detail": {"error": "<code>", ...context}}`.
 * Every error the service raises on purpose is an ApiError; the global filter maps everything else.
 */
export type ErrorDetail = string | ({ error: string; message?: string } & Record<string, unknown>);

export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly detail: ErrorDetail,
    readonly headers: Record<string, string> = {},
  ) {
    super({ detail }, status);
  }

  static badRequest(message: string): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, message);
  }

  static validation(message: string, fields: Record<string, string[]>): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, { error: 'validation_failed', message, fields });
  }

  static notFound(what = 'Not found'): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, what);
  }

  static conflict(error: string, message: string, context: Record<string, unknown> = {}): ApiError {
    return new ApiError(HttpStatus.CONFLICT, { error, message, ...context });
  }

  static unauthorized(message: string): ApiError {
    return new ApiError(HttpStatus.UNAUTHORIZED, message, { 'WWW-Authenticate': 'Bearer' });
  }

  static forbidden(error: string, message: string, context: Record<string, unknown> = {}): ApiError {
    return new ApiError(HttpStatus.FORBIDDEN, { error, message, ...context });
  }

  /** SPEC §3.3: the key is valid but lacks the scope the route needs. */
  static insufficientScope(scope: string): ApiError {
    return ApiError.forbidden('insufficient_scope', `This API key lacks the ${scope} scope`, { required_scope: scope });
  }
}
