import { Injectable, NestMiddleware } from '@nestjs/common';
import express from 'express';
import type { Request, Response } from 'express';

type Parser = ReturnType<typeof express.json>;

const DEFAULT_LIMIT_BYTES = 1024 * 1024;
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * JSON body parsing as Nest middleware (the app is created with bodyParser: false). Parser errors are thrown,
 * not passed to Express's next(err), so malformed JSON and oversized bodies reach the global error filter and
 * leave in the SPEC §2 envelope. Upload creation is left alone: its controller reads the body (up to a much larger
 * limit, a 250,000-entry list) after the guards, so an unauthenticated or rate-limited 60 MB body is refused
 * before it is read. Multipart bodies are never touched here either: they stream to that controller.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly small: Parser = express.json({ limit: DEFAULT_LIMIT_BYTES, strict: true, type: JSON_TYPES });

  use(req: Request, res: Response, next: (error?: unknown) => void): Promise<void> {
    // mounted on every route, so req.path is relative to the mount point: match the full URL path
    if (req.method === 'POST' && /^\/api\/v1\/uploads\/?$/.test(req.originalUrl.split('?')[0])) {
      next();
      return Promise.resolve();
    }
    return parseWith(this.small, req, res).then(() => next());
  }
}

const largeParsers = new Map<number, Parser>();

/** Reads a JSON body of up to `limitBytes` (for the upload controller, after authentication). */
export async function readJsonBody(req: Request, res: Response, limitBytes: number): Promise<unknown> {
  let parser = largeParsers.get(limitBytes);
  if (!parser) largeParsers.set(limitBytes, (parser = express.json({ limit: limitBytes, strict: true, type: JSON_TYPES })));
  await parseWith(parser, req, res);
  return req.body;
}

function parseWith(parser: Parser, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => parser(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
}
