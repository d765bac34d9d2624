import { Readable } from 'node:stream';

/**
 * Where uploads and result files live (SPEC §4.7, §9). The default stores under DATA_DIR (a shared volume when
 * several instances run); an object-store adapter implements the same four methods.
 */
export interface FileStorage {
  /** Streams `source` to `key`; resolves with the bytes written. Partial files are removed on error. */
  write(key: string, source: Readable | AsyncIterable<Buffer | string>): Promise<number>;
  read(key: string): Readable;
  size(key: string): Promise<number>;
  delete(key: string): Promise<void>;
}

export const FILE_STORAGE = Symbol('FILE_STORAGE');
