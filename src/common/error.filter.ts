import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError, ErrorDetail } from './api-error';
import { requestIdOf } from './request-id';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Not authenticated',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  409: 'Conflict',
  413: 'Request body too large',
  415: 'Unsupported media type',
  422: 'Unprocessable entity',
  429: 'Too many requests',
};

/** Maps any thrown value to the SPEC §2 envelope. Nothing internal (stack, SQL, class names) reaches the client. */
export function toEnvelope(exception: unknown, requestId: string): { status: number; detail: ErrorDetail; headers: Record<string, string> } {
  if (exception instanceof ApiError) {
    return { status: exception.getStatus(), detail: exception.detail, headers: exception.headers };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === HttpStatus.SERVICE_UNAVAILABLE) {
      return { status, detail: { error: 'service_unavailable', checks: exception.getResponse() }, headers: {} };
    }
    if (status >= 500) return internal(requestId);
    const body = exception.getResponse();
    let detail: ErrorDetail = STATUS_TEXT[status] ?? 'Request failed';
    if (status === 404) detail = 'Not found';
    else if (typeof body === 'string') detail = body;
    else if (body && typeof body === 'object' && 'detail' in body) detail = (body as { detail: ErrorDetail }).detail;
    else if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
      detail = (body as { message: string }).message;
    }
    return { status, detail, headers: {} };
  }
  // body-parser and other http-errors style exceptions carry a status of their own
  const e = exception as { status?: number; statusCode?: number; type?: string; expose?: boolean } | null;
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (e?.type === 'entity.parse.failed') return { status: 400, detail: 'Malformed JSON body', headers: {} };
    if (e?.type === 'entity.too.large') return { status: 413, detail: 'Request body too large', headers: {} };
    return { status, detail: STATUS_TEXT[status] ?? 'Bad request', headers: {} };
  }
  return internal(requestId);
}

function internal(requestId: string) {
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail: { error: 'internal_error', request_id: requestId }, headers: {} };
}

@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const requestId = requestIdOf(req, res);
    const { status, detail, headers } = toEnvelope(exception, requestId);
    if (status >= 500) {
      const err = exception as Error;
      this.logger.error({ requestId, err: { message: err?.message, stack: err?.stack } }, 'unhandled error');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.status(status).json({ detail });
  }
}
