import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

const REASONS: Record<number, [string, string]> = {
  400: ['Bad Request', 'Malformed HTTP request'],
  408: ['Request Timeout', 'Request timed out'],
  413: ['Payload Too Large', 'Request body too large'],
  431: ['Request Header Fields Too Large', 'Request headers too large'],
};

function statusFor(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_TIMEOUT') return 408;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  return 400;
}

/**
 * Requests Node's HTTP parser refuses (a NUL byte in a header, a malformed request line, conflicting
 * Content-Length headers, a header block over the limit...) never reach Express, and Node answers them itself with
 * an empty body. This answers them in the SPEC §2 envelope instead, with an X-Request-Id like every response.
 */
export function answerClientErrorsWithEnvelope(server: Server): void {
  if (server.listenerCount('clientError') > 0) return; // installed already (or the host application handles it)
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const status = statusFor(err.code);
    const [reason, detail] = REASONS[status];
    const body = JSON.stringify({ detail });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** Installs the envelope for parser-level errors on the application's HTTP server. */
@Injectable()
export class ClientErrorEnvelope implements OnApplicationBootstrap {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (server && typeof server.on === 'function') answerClientErrorsWithEnvelope(server);
  }
}
