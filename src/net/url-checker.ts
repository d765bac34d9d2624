import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { AddressPolicy, UnsafeAddressError } from './safe-lookup';

/**
 * SPEC §5.3 at request time, for every URL a customer hands us (endpoint URLs and per-request webhook URLs):
 * syntax and scheme, then every address the host resolves to. No connection is made for a rejected URL.
 * The answer is the API's 400 `unsafe_url`, so webhooks and uploads refuse a URL in the same words.
 */
@Injectable()
export class UrlChecker {
  constructor(private readonly policy: AddressPolicy) {}

  async check(raw: string): Promise<URL> {
    const verdict = this.policy.validateUrl(raw);
    if (!verdict.ok) throw unsafeUrl(verdict.reason, verdict.message);
    try {
      await this.policy.resolveAndCheck(verdict.url.hostname);
    } catch (e) {
      if (e instanceof UnsafeAddressError) {
        throw unsafeUrl(
          e.reason,
          e.reason === 'unresolvable' ? 'The URL host does not resolve' : 'The URL host resolves to an address that is not public',
        );
      }
      throw e;
    }
    return verdict.url;
  }
}

function unsafeUrl(reason: string, message: string): ApiError {
  return new ApiError(HttpStatus.BAD_REQUEST, { error: 'unsafe_url', message, reason });
}
