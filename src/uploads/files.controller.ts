import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../common/api-error';
import { Public } from '../common/principal';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { DOWNLOAD_KINDS, DownloadKind, SignedUrls } from './signed-urls';
import { FILE_STORAGE, FileStorage } from './storage/file-storage';
import { UploadsRepository } from './uploads.repository';

/** Serves signed download URLs (SPEC §4.7): the signature is the authorization, no API key. */
@ApiExcludeController()
@Public()
@Controller('files')
export class FilesController {
  constructor(
    private readonly urls: SignedUrls,
    private readonly repo: UploadsRepository,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
  ) {}

  @Get(':uploadId/:kind')
  async download(
    @Param('uploadId', UuidParamPipe) uploadId: string,
    @Param('kind') kind: string,
    @Query('expires') expires: string | undefined,
    @Query('signature') signature: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    if (!(DOWNLOAD_KINDS as readonly string[]).includes(kind)) throw ApiError.notFound();
    const verdict = this.urls.verify(uploadId, kind, expires, signature);
    if (verdict !== 'ok') throw ApiError.forbidden(verdict === 'expired' ? 'url_expired' : 'invalid_signature', verdict === 'expired' ? 'This download link has expired' : 'Invalid download signature');
    const upload = await this.repo.findById(uploadId);
    const key = !upload ? null : kind === 'original' ? upload.storagePath : kind === 'processed' ? upload.processedStoragePath : upload.processedFilteredStoragePath;
    if (!upload || !key) throw ApiError.notFound('File not found');
    const size = await this.storage.size(key).catch(() => null);
    if (size === null) throw ApiError.notFound('File not found');
    const base = upload.originalFilename.replace(/\.csv$/i, '');
    const name = kind === 'original' ? upload.originalFilename : `${base}-${kind as DownloadKind}.csv`;
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Length', String(size));
    res.setHeader('Content-Disposition', contentDisposition(name));
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    await pipeline(this.storage.read(key), res);
  }
}

/**
 * `attachment` with an ASCII fallback `filename` (Node refuses header values outside Latin-1, so a customer's
 * "客户.csv" must not reach it raw) and the exact name in RFC 5987 `filename*`.
 */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
