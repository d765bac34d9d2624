import { stringify, Stringifier } from 'csv-stringify';
import { spreadsheetSafe } from './csv/spreadsheet-safe';
import { FileStorage } from './storage/file-storage';

export interface ResultPaths {
  processed: string;
  filtered: string;
}

/**
 * The two result files of an upload (SPEC §4.6), written side by side: every row to `processed`, the `Likely Answer`
 * rows also to `processed-filtered`. Every cell is made spreadsheet-safe. Either `close()` (both files complete) or
 * `abort(error)` (both partial files removed by storage) ends it; a storage error surfaces at the next `add()`.
 */
export class ResultFiles {
  private readonly processed = stringify();
  private readonly filtered = stringify();
  private readonly writes: Promise<unknown>;

  private constructor(
    storage: FileStorage,
    readonly paths: ResultPaths,
  ) {
    // The stringifiers are the sources themselves: destroying one on error must reach storage.write (a `.pipe()`
    // in between does not forward errors, and the write, and with it the processor, would wait forever).
    this.writes = Promise.all([storage.write(paths.processed, this.processed), storage.write(paths.filtered, this.filtered)]);
    this.writes.catch(() => undefined); // observed by close()/abort(); a storage error must not go unhandled meanwhile
  }

  /** Starts both files with `header` as their first row. */
  static async open(storage: FileStorage, uploadId: string, header: string[]): Promise<ResultFiles> {
    const files = new ResultFiles(storage, { processed: `results/${uploadId}/processed.csv`, filtered: `results/${uploadId}/processed-filtered.csv` });
    try {
      const safe = header.map(spreadsheetSafe);
      await write(files.processed, safe);
      await write(files.filtered, safe);
    } catch (e) {
      await files.abort(e);
      throw e;
    }
    return files;
  }

  async add(row: string[], likelyAnswer: boolean): Promise<void> {
    const safe = row.map(spreadsheetSafe);
    await write(this.processed, safe);
    if (likelyAnswer) await write(this.filtered, safe);
  }

  async close(): Promise<ResultPaths> {
    this.processed.end();
    this.filtered.end();
    await this.writes;
    return this.paths;
  }

  async abort(error: unknown): Promise<void> {
    this.processed.destroy(error as Error);
    this.filtered.destroy(error as Error);
    await this.writes.catch(() => undefined);
  }
}

/** Writes one row, waiting for `drain` under backpressure; rejects (instead of waiting forever) once the stream is dead. */
function write(stream: Stringifier, row: string[]): Promise<void> | void {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(stream.errored ?? new Error('the result file could not be written'));
  if (stream.write(row)) return;
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(stream.errored ?? new Error('the result file could not be written'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', done);
  });
}
