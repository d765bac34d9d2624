import { Injectable } from '@nestjs/common';
import { Agent } from 'undici';
import { Clock } from '../common/clock';
import { newTimeOrderedId } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { createSafeDispatcher } from '../net/http-clients';
import { AddressPolicy } from '../net/safe-lookup';
import { SecretCipher } from '../crypto/secret-cipher';
import { AttemptOutcome, ClaimedDelivery, EndpointTarget } from './deliveries.repository';
import { sendOnce, SendResult, SendTarget } from './delivery-sender';
import { nextAttemptAt } from './retry-schedule';
import { buildDeliveryHeaders } from '../webhooks/signer';
import { sendingTarget } from '../net/url-credentials';

/** A target URL prepared once: what goes on the wire, and the Basic auth its credentials become. */
export interface WireTarget {
  /** As stored (an endpoint's current URL, user info masked): recorded on the delivery. */
  rawUrl: string;
  /** Without credentials and fragment. */
  url: string;
  /** `url` split for the dispatcher. */
  send: SendTarget;
  authorization: string | undefined;
}

/** One attempt ready to go. */
export interface PreparedAttempt {
  claim: ClaimedDelivery;
  target: WireTarget;
  secrets: string[];
  body: Buffer;
}

export const SECRET_UNAVAILABLE = 'signing secret unavailable';

/** A signing secret whose ciphertext no longer decrypts (say, SECRETS_ENCRYPTION_KEY changed). */
export class SecretUnavailableError extends Error {
  constructor(readonly ciphertext: string) {
    super(SECRET_UNAVAILABLE);
    this.name = 'SecretUnavailableError';
  }
}

/** Entries kept per cache: far more than the endpoints one instance sends to at once, bounded all the same. */
const CACHE_ENTRIES = 4096;

/** A Map that forgets its oldest entries past `max`. */
class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): V {
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
    return value;
  }
}

/**
 * Prepares, signs and sends one attempt and turns its result into the attempt record (SPEC §6.3–6.5). Owns the
 * undici dispatcher. Per target it parses the URL and builds the Basic auth header once; decrypted secrets are
 * kept by ciphertext, so a rotation (a new ciphertext, random IV) is seen at once by every instance and nothing
 * needs invalidating: a rotated, updated or deleted endpoint's old ciphertext is simply never asked for again.
 */
@Injectable()
export class DeliverySender {
  private readonly dispatcher: Agent;
  private readonly targets = new BoundedCache<string, WireTarget>(CACHE_ENTRIES);
  private readonly plaintexts = new BoundedCache<string, string>(CACHE_ENTRIES);

  constructor(
    private readonly config: AppConfig,
    private readonly cipher: SecretCipher,
    private readonly clock: Clock,
    policy: AddressPolicy,
  ) {
    this.dispatcher = createSafeDispatcher(policy, {
      ca: config.delivery.extraCaPem ?? undefined,
      connectTimeoutMs: config.delivery.timeoutMs,
      // The pool is per origin, and many endpoints (of many organizations) may share one origin. The per-endpoint
      // bound is enforced by the claim; capping the pool at that bound too would queue a healthy endpoint's
      // requests behind a slow endpoint on the same host, burning their deadline while they wait.
      connections: config.delivery.globalConcurrency,
    });
  }

  /**
   * The URL as stored (user info masked, SPEC §5.3) with its encrypted user info, ready for the wire. Throws for a
   * URL that does not parse (nothing can be sent to it) and SecretUnavailableError for user info that no longer
   * decrypts. Keyed by both, so an updated URL or new credentials are simply a new entry.
   */
  target(storedUrl: string, credentialsEncrypted: string | null): WireTarget {
    const key = credentialsEncrypted ? `${storedUrl}\n${credentialsEncrypted}` : storedUrl;
    const known = this.targets.get(key);
    if (known) return known;
    const { url, authorization } = sendingTarget(storedUrl, credentialsEncrypted, (c) => this.decrypt(c));
    const parsed = new URL(url);
    return this.targets.set(key, { rawUrl: storedUrl, url, send: { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` }, authorization });
  }

  /** The current secret, plus the previous one during a rotation's overlap (SPEC §5.8). */
  endpointSecrets(e: EndpointTarget, nowMs: number): string[] {
    const secrets = [this.decrypt(e.secretEncrypted)];
    if (e.previousSecretEncrypted && e.previousSecretExpiresAtMs !== null && e.previousSecretExpiresAtMs > nowMs) secrets.push(this.decrypt(e.previousSecretEncrypted));
    return secrets;
  }

  /** A per-request target signs with its own secret, or not at all (SPEC §7.1). */
  requestSecrets(ciphertext: string | null): string[] {
    return ciphertext ? [this.decrypt(ciphertext)] : [];
  }

  async send(p: PreparedAttempt): Promise<AttemptOutcome> {
    const startedAt = this.clock.now();
    const headers = buildDeliveryHeaders({
      eventType: p.claim.eventType,
      eventId: p.claim.eventId,
      deliveryId: p.claim.id,
      attempt: p.claim.attemptCount + 1,
      timestampSeconds: Math.floor(startedAt.getTime() / 1000),
      body: p.body,
      secrets: p.secrets,
    });
    if (p.target.authorization) headers['authorization'] = p.target.authorization;
    const r = await sendOnce(this.dispatcher, p.target.send, headers, p.body, this.config.delivery.timeoutMs);
    return this.settle(p.claim, p.target.rawUrl, startedAt, r);
  }

  /** The attempt that could not be signed: nothing is sent, it fails and follows the schedule like any failure. */
  unavailable(claim: ClaimedDelivery, rawUrl: string): AttemptOutcome {
    const now = this.clock.now();
    return this.settle(claim, rawUrl, now, { status: null, errorClass: null, errorMessage: SECRET_UNAVAILABLE, body: null, retryAfter: null, durationMs: 0 });
  }

  close(): Promise<void> {
    return this.dispatcher.destroy().catch(() => undefined);
  }

  private settle(claim: ClaimedDelivery, rawUrl: string, startedAt: Date, r: SendResult): AttemptOutcome {
    const attemptNumber = claim.attemptCount + 1;
    const finishedAt = this.clock.now();
    const ok = r.errorClass === null && r.status !== null;
    const next = ok ? null : nextAttemptAt({ failedAttempt: attemptNumber, scheduleStartedAfter: claim.scheduleStartedAfter, nowMs: finishedAt.getTime(), status: r.status, retryAfter: r.retryAfter });
    return {
      deliveryId: claim.id,
      claimToken: claim.token,
      targetUrl: rawUrl,
      status: ok ? 'delivered' : next === null ? 'exhausted' : 'pending',
      nextRetryAt: next === null ? null : new Date(next),
      endpointId: claim.webhookEndpointId,
      gone: r.status === 410,
      attempt: {
        id: newTimeOrderedId(finishedAt.getTime()),
        deliveryId: claim.id,
        attemptNumber,
        startedAt,
        finishedAt,
        durationMs: r.durationMs,
        responseStatus: r.status,
        errorClass: r.errorClass,
        errorMessage: r.errorMessage,
        responseBody: r.body,
      },
    };
  }

  private decrypt(ciphertext: string): string {
    const known = this.plaintexts.get(ciphertext);
    if (known !== undefined) return known;
    let plain: string;
    try {
      plain = this.cipher.decrypt(ciphertext);
    } catch {
      throw new SecretUnavailableError(ciphertext);
    }
    return this.plaintexts.set(ciphertext, plain);
  }
}
