import { Injectable, NestMiddleware } from '@nestjs/common';
import express from 'express';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';

type Parser = ReturnType<typeof express.json>;

const DEFAULT_LIMIT_BYTES = 1024 * 1024;
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * JSON body parsing as Nest middleware (the app is created with bodyParser: false). Parser errors are thrown,
 * not passed to Express's next(err), so malformed JSON and oversized bodies reach the global error filter and
 * leave in the SPEC §2 envelope. Upload creation gets its own, larger limit (a 250,000-entry list);
 * multipart bodies are never touched here: they stream to their controller.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly small: Parser;
  private readonly large: Parser;

  constructor(config: AppConfig) {
    this.small = express.json({ limit: DEFAULT_LIMIT_BYTES, strict: true, type: JSON_TYPES });
    this.large = express.json({ limit: config.upload.maxJsonBodyBytes, strict: true, type: JSON_TYPES });
  }

  use(req: Request, res: Response, next: (error?: unknown) => void): Promise<void> {
    // mounted on every route, so req.path is relative to the mount point: match the full URL path
    const parser = req.method === 'POST' && /^\/api\/v1\/uploads\/?$/.test(req.originalUrl.split('?')[0]) ? this.large : this.small;
    return new Promise((resolve, reject) =>
      parser(req, res, (err?: unknown) => {
        if (err) return reject(err);
        next();
        resolve();
      }),
    );
  }
}
