import { randomBytes } from 'node:crypto';
import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { ApiError } from '../common/api-error';
import { newId } from '../common/ids';
import { validateInput } from '../common/validation';
import { SecretCipher } from '../crypto/secret-cipher';
import { UrlChecker } from '../net/url-checker';
import { sealUrl } from '../net/url-credentials';
import { CsvFormatError, PhoneColumnError, scanPhoneList, ScanResult } from './csv/phone-list-scanner';
import { FILE_STORAGE, FileStorage } from './storage/file-storage';
import { parseUploadWebhook } from './upload-webhook';
import { CreateUploadJsonDto, UploadMultipartFieldsDto } from './upload.dto';
import { Upload } from './upload.entity';

/** A CSV already streamed to storage by the HTTP layer (or a host application). */
export interface StoredCsv {
  storageKey: string;
  sizeBytes: number;
  filename: string;
}

/** The per-request webhook as stored on the upload: URL checked, secret encrypted. */
export type WebhookTarget = Pick<Upload, 'webhook' | 'webhookSecretEncrypted' | 'webhookCredentialsEncrypted'>;

/**
 * The `application/json` body of POST /api/v1/uploads: the entry cap first (413 before any entry is looked at, so
 * a 250,001-entry list is refused cheaply), then CreateUploadJsonDto through the shared validation rules.
 */
export function jsonUploadInput(body: unknown, maxEntries: number): CreateUploadJsonDto {
  const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  for (const list of [b.phone_numbers, b.contacts]) {
    if (Array.isArray(list) && list.length > maxEntries) {
      throw new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, { error: 'too_many_entries', message: `At most ${maxEntries} entries per upload`, limit: maxEntries, observed: list.length });
    }
  }
  return validateInput(CreateUploadJsonDto, body);
}

/** The multipart text fields, by CreateUploadMultipartDto (the `file` part is not among them). */
export function multipartUploadInput(fields: Record<string, string>): UploadMultipartFieldsDto {
  return validateInput(UploadMultipartFieldsDto, fields);
}

/**
 * What an upload is made of before any row exists: the original file in storage, its scan, and the per-request
 * webhook target. Errors are the API's (400 for a bad column or CSV, 400 `unsafe_url`); nothing here is charged.
 */
@Injectable()
export class UploadIntake {
  constructor(
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
    private readonly urlChecker: UrlChecker,
    private readonly cipher: SecretCipher,
  ) {}

  newStorageKey(): string {
    return `originals/${newId()}.csv`;
  }

  /** A JSON list becomes a CSV (`phone` plus any contact fields), stored as the original. */
  async storeList(input: CreateUploadJsonDto): Promise<StoredCsv> {
    const { columns, rows } = input.phone_numbers !== undefined ? phoneRows(input.phone_numbers) : contactRows(input.contacts ?? []);
    const storageKey = this.newStorageKey();
    // With a single column, an empty entry would be an empty line, which CSV readers skip: quote it ("") so every
    // entry stays a row and total_rows / invalid_row_count match the list.
    const sizeBytes = await this.storage.write(storageKey, Readable.from(rows).pipe(stringify({ quoted_empty: columns.length === 1 })));
    return { storageKey, sizeBytes, filename: input.filename?.trim() || `api_upload_${randomBytes(6).toString('hex')}.csv` };
  }

  async storeContent(filename: string, content: Readable | Buffer | string): Promise<StoredCsv> {
    const storageKey = this.newStorageKey();
    const source = content instanceof Readable ? content : Readable.from([Buffer.from(content)]);
    return { storageKey, sizeBytes: await this.storage.write(storageKey, source), filename };
  }

  async discard(storageKey: string): Promise<void> {
    await this.storage.delete(storageKey).catch(() => undefined);
  }

  async scan(storageKey: string, phoneColumn: string): Promise<ScanResult> {
    try {
      return await scanPhoneList(this.storage.read(storageKey), phoneColumn);
    } catch (e) {
      if (e instanceof PhoneColumnError) {
        throw ApiError.validation(e.message, { phone_column: [`"${e.phoneColumn}" is not a column of the file (columns: ${e.header.slice(0, 20).join(', ')})`] });
      }
      if (e instanceof CsvFormatError) throw ApiError.badRequest(e.message);
      throw e;
    }
  }

  /**
   * SPEC §7.1: the hash's shape, then its URL's safety (with DNS). The secret and the URL's user info are kept
   * encrypted only; the stored URL is masked.
   */
  async webhookTarget(raw: unknown): Promise<WebhookTarget> {
    if (raw === undefined) return { webhook: null, webhookSecretEncrypted: null, webhookCredentialsEncrypted: null };
    const hash = parseUploadWebhook(raw);
    const sealed = sealUrl((await this.urlChecker.check(hash.url)).toString(), (s) => this.cipher.encrypt(s));
    return {
      webhook: { url: sealed.url, delay: hash.delay },
      webhookSecretEncrypted: hash.secret ? this.cipher.encrypt(hash.secret) : null,
      webhookCredentialsEncrypted: sealed.credentialsEncrypted,
    };
  }
}

interface ListRows {
  columns: string[];
  rows: Generator<string[]>;
}

function phoneRows(list: Array<string | number>): ListRows {
  return {
    columns: ['phone'],
    rows: (function* () {
      yield ['phone'];
      for (const v of list) yield [String(v)];
    })(),
  };
}

/** Every field any contact has becomes a column, in order of first appearance; a contact without it gets ''. */
function contactRows(list: Array<Record<string, string | number>>): ListRows {
  const columns = ['phone'];
  const seen = new Set(columns);
  for (const c of list) {
    for (const k of Object.keys(c)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  return {
    columns,
    rows: (function* () {
      yield columns;
      for (const c of list) yield columns.map((k) => (c[k] === undefined ? '' : String(c[k])));
    })(),
  };
}
