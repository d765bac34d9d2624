import { HttpStatus } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { PassThrough, Readable } from 'node:stream';
import { ApiError } from '../common/api-error';
import { StoredCsv } from './upload-intake';
import { FileStorage } from './storage/file-storage';

export interface MultipartResult {
  /** Every text field as sent; CreateUploadMultipartDto decides which are known (multipartUploadInput). */
  fields: Record<string, string>;
  file: StoredCsv | null;
}

const LIMITS = { files: 1, fields: 20, fieldSize: 64 * 1024, parts: 25 };

/**
 * Streams a multipart/form-data body: the `file` part goes straight to storage (never buffered whole), the
 * size cap is enforced while streaming (413), text fields are collected for validation.
 */
export function receiveMultipart(req: Request, storage: FileStorage, storageKey: string, maxBytes: number): Promise<MultipartResult> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { ...LIMITS, fileSize: maxBytes } });
    } catch {
      reject(ApiError.badRequest('Malformed multipart/form-data request'));
      return;
    }
    new MultipartReception(req, bb, storage, storageKey, maxBytes, resolve, reject).start();
  });
}

/** One request's reception: settles exactly once, and never deletes the file of a request it already accepted. */
class MultipartReception {
  private readonly fields: Record<string, string> = {};
  private file: StoredCsv | null = null;
  private writing: Promise<number> | null = null;
  private current: PassThrough | null = null;
  private settled = false;

  constructor(
    private readonly req: Request,
    private readonly bb: busboy.Busboy,
    private readonly storage: FileStorage,
    private readonly storageKey: string,
    private readonly maxBytes: number,
    private readonly resolve: (r: MultipartResult) => void,
    private readonly reject: (e: ApiError) => void,
  ) {}

  start(): void {
    this.bb.on('field', (name, value, info) => this.onField(name, value, info.valueTruncated));
    this.bb.on('file', (name, stream, info) => this.onFile(name, stream, info.filename));
    this.bb.on('error', () => this.fail(ApiError.badRequest('Malformed multipart/form-data request')));
    this.bb.on('close', () => this.onClose());
    this.req.on('aborted', () => this.fail(ApiError.badRequest('The upload was interrupted')));
    this.req.pipe(this.bb);
  }

  private onField(name: string, value: string, truncated: boolean): void {
    if (this.settled) return;
    if (truncated) return this.fail(ApiError.validation(`${name} is too long`, { [name]: ['is too long'] }));
    this.fields[name] = value;
  }

  private onFile(name: string, stream: Readable, filename: string | undefined): void {
    // a part's stream errors when the body ends inside it ("Unexpected end of form"): an unheard 'error' event
    // would take the whole process down
    stream.on('error', () => this.fail(ApiError.badRequest('Malformed multipart/form-data request: the body ended inside a part')));
    // busboy may still emit parts it had buffered when the request was rejected: never store those
    if (this.settled) return void stream.resume();
    if (name !== 'file' || this.file) {
      stream.resume();
      return this.fail(ApiError.validation(`unexpected file field "${name}": send one file in the "file" field`, { [name]: ['unexpected file field'] }));
    }
    const pass = new PassThrough();
    // destroyed with an error on rejection, possibly after its write finished: the outcome is read from `writing`
    pass.on('error', () => undefined);
    this.current = pass;
    let size = 0;
    stream.on('data', (c: Buffer) => (size += c.length));
    stream.on('limit', () => {
      pass.destroy(new Error('too large'));
      this.fail(new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, { error: 'file_too_large', message: `The CSV file exceeds ${this.maxBytes} bytes`, limit: this.maxBytes }));
    });
    stream.pipe(pass);
    const file: StoredCsv = { storageKey: this.storageKey, sizeBytes: 0, filename: filename || 'upload.csv' };
    this.file = file;
    this.writing = this.storage.write(this.storageKey, pass).then((n) => {
      file.sizeBytes = size;
      return n;
    });
  }

  private onClose(): void {
    if (this.settled) return;
    (this.writing ?? Promise.resolve(0)).then(
      () => {
        if (this.settled) return;
        this.settled = true;
        this.resolve({ fields: this.fields, file: this.file });
      },
      () => this.fail(ApiError.badRequest('The upload was interrupted')),
    );
  }

  private fail(e: ApiError): void {
    if (this.settled) return;
    this.settled = true;
    // a file still streaming (client gone, or a bad part after it) would never end once unpiped: end its write
    // with an error so the partial file is removed and the request settles
    this.current?.destroy(new Error('upload rejected'));
    this.req.unpipe(this.bb);
    this.req.resume(); // drain so the client can read our answer
    const removed = this.writing ? this.writing.catch(() => undefined).then(() => this.storage.delete(this.storageKey)) : Promise.resolve();
    void removed.finally(() => this.reject(e));
  }
}
