import { Injectable } from '@nestjs/common';
import { HttpService } from '@nestjs/axios';
import { firstValueFrom } from 'rxjs';
import { API_VERSION_DATE } from '../common/api-version';
import { Clock } from '../common/clock';
import { newEventId, newId } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { buildDeliveryHeaders, generateChallenge } from './signer';
import { basicAuthHeader, stripCredentials } from '../net/url-policy';
import { describeTransportError } from '../net/transport-errors';

export type PingResult = { ok: true } | { ok: false; statusCode: number | null; underlyingError: string | null };

/**
 * The synchronous `webhook.ping` challenge (SPEC §5.4, §6.2): a signed envelope POSTed through the safe
 * HttpService (address policy at connect time, no redirects) with a total deadline.
 */
@Injectable()
export class WebhookPingService {
  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * `secrets`: the endpoint's signing secrets — one, or two during a rotation's overlap (SPEC §5.8: every request
   * carries signatures under both, so a receiver still on the previous secret verifies the ping too).
   */
  async ping(url: URL, secrets: string[], webhookId: string | null): Promise<PingResult> {
    const eventId = newEventId();
    const body = Buffer.from(
      JSON.stringify({
        id: eventId,
        type: 'webhook.ping',
        api_version: API_VERSION_DATE,
        created_at: this.clock.now().toISOString(),
        data: { challenge: generateChallenge(), webhook_id: webhookId },
      }),
    );
    const headers = buildDeliveryHeaders({
      eventType: 'webhook.ping',
      eventId,
      deliveryId: newId(),
      attempt: 1,
      timestampSeconds: Math.floor(this.clock.nowMs() / 1000),
      body,
      secrets,
    });
    const authorization = basicAuthHeader(url);
    if (authorization) headers['authorization'] = authorization;
    const timeoutMs = this.config.delivery.pingTimeoutMs;
    try {
      const res = await firstValueFrom(
        this.http.post(stripCredentials(url).toString(), body, {
          headers,
          timeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
          responseType: 'stream',
          transformRequest: [(data) => data],
        }),
      );
      // The body is irrelevant: drop it without reading more than the socket already has.
      (res.data as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, statusCode: res.status, underlyingError: null };
    } catch (e) {
      return { ok: false, statusCode: null, underlyingError: describeTransportError(e).message };
    }
  }
}
