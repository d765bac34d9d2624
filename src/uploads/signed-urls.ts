import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';

export const DOWNLOAD_KINDS = ['original', 'processed', 'processed-filtered'] as const;
export type DownloadKind = (typeof DOWNLOAD_KINDS)[number];

/** HMAC-signed, expiring download links served by this service at /files/… (SPEC §4.7). */
@Injectable()
export class SignedUrls {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  sign(uploadId: string, kind: DownloadKind, ttlSeconds: number): { url: string; expiresAt: number } {
    const expiresAt = Math.floor(this.clock.nowMs() / 1000) + ttlSeconds;
    const signature = this.mac(uploadId, kind, expiresAt);
    return { url: `${this.config.publicBaseUrl}/files/${uploadId}/${kind}?expires=${expiresAt}&signature=${signature}`, expiresAt };
  }

  verify(uploadId: string, kind: string, expires: string | undefined, signature: string | undefined): 'ok' | 'invalid' | 'expired' {
    if (!expires || !/^\d{1,12}$/.test(expires) || !signature || !/^[0-9a-f]{64}$/.test(signature)) return 'invalid';
    const expected = Buffer.from(this.mac(uploadId, kind, Number(expires)), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'invalid';
    return Number(expires) * 1000 < this.clock.nowMs() ? 'expired' : 'ok';
  }

  private mac(uploadId: string, kind: string, expiresAt: number): string {
    return createHmac('sha256', this.config.downloadSigningKey).update(`${uploadId}\n${kind}\n${expiresAt}`).digest('hex');
  }
}
