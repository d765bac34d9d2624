import { HttpStatus } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { PassThrough } from 'node:stream';
import { ApiError } from '../common/api-error';
import { FileStorage } from './storage/file-storage';

export interface MultipartResult {
  fields: Record<string, string>;
  file: { storageKey: string; sizeBytes: number; filename: string } | null;
}

const FIELDS = ['phone_column', 'skip_mobile_lookup', 'filename_override', 'webhook'];

/**
 * Streams a multipart/form-data body: the `file` part goes straight to storage (never buffered whole), the
 * size cap is enforced while streaming (413), other parts must be known text fields.
 */
export function receiveMultipart(req: Request, storage: FileStorage, storageKey: string, maxBytes: number): Promise<MultipartResult> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 25 } });
    } catch {
      reject(ApiError.badRequest('Malformed multipart/form-data request'));
      return;
    }
    const fields: Record<string, string> = {};
    let file: MultipartResult['file'] = null;
    let writing: Promise<number> | null = null;
    let current: PassThrough | null = null;
    let failed = false;
    let resolved = false;
    const fail = (e: ApiError) => {
      if (failed || resolved) return; // never delete the file of a request that was already accepted
      failed = true;
      // a file still streaming (client gone, or a bad part after it) would never end once unpiped: end its write
      // with an error so the partial file is removed and the request settles
      current?.destroy(new Error('upload rejected'));
      req.unpipe(bb);
      req.resume(); // drain so the client can read our answer
      const done = writing ? writing.catch(() => undefined).then(() => storage.delete(storageKey)) : Promise.resolve();
      void done.finally(() => reject(e));
    };
    bb.on('field', (name, value, info) => {
      if (failed) return;
      if (!FIELDS.includes(name)) return fail(ApiError.validation(`${name} is not a recognised field`, { [name]: ['is not a recognised field'] }));
      if (info.valueTruncated) return fail(ApiError.validation(`${name} is too long`, { [name]: ['is too long'] }));
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      // busboy may still emit parts it had buffered when the request was rejected: never store those
      // a part's stream errors when the body ends inside it ("Unexpected end of form"): an unheard 'error' event
      // would take the whole process down
      stream.on('error', () => fail(ApiError.badRequest('Malformed multipart/form-data request: the body ended inside a part')));
      if (failed) {
        stream.resume();
        return;
      }
      if (name !== 'file' || file) {
        stream.resume();
        return fail(ApiError.validation(`unexpected file field "${name}": send one file in the "file" field`, { [name]: ['unexpected file field'] }));
      }
      const pass = new PassThrough();
      // destroyed with an error on rejection, possibly after its write finished: the outcome is read from `writing`
      pass.on('error', () => undefined);
      current = pass;
      let size = 0;
      stream.on('data', (c: Buffer) => (size += c.length));
      stream.on('limit', () => {
        pass.destroy(new Error('too large'));
        fail(new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, { error: 'file_too_large', message: `The CSV file exceeds ${maxBytes} bytes`, limit: maxBytes }));
      });
      stream.pipe(pass);
      file = { storageKey, sizeBytes: 0, filename: info.filename || 'upload.csv' };
      writing = storage.write(storageKey, pass).then((n) => {
        file!.sizeBytes = size;
        return n;
      });
    });
    bb.on('error', () => fail(ApiError.badRequest('Malformed multipart/form-data request')));
    bb.on('close', () => {
      if (failed) return;
      (writing ?? Promise.resolve(0)).then(
        () => {
          if (failed) return;
          resolved = true;
          resolve({ fields, file });
        },
        () => fail(ApiError.badRequest('The upload was interrupted')),
      );
    });
    req.on('aborted', () => fail(ApiError.badRequest('The upload was interrupted')));
    req.pipe(bb);
  });
}
