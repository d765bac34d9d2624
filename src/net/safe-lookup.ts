import { promises as dnsPromises, LookupAddress, LookupOptions } from 'node:dns';
import { isIP, LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { classifyIp, isInCidrs, parseIpLiteral } from './address-policy';
import { UrlVerdict, validateWebhookUrl } from './url-policy';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has. Tests inject one to script answers (DNS rebinding included). */
export type DnsResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: DnsResolver = async (hostname) => {
  const answers = await dnsPromises.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * A host that must not be dialled. transport-errors.ts recognises it anywhere in an error's cause chain by
 * `code`, and reads `reason` and `dnsCode`.
 */
export class UnsafeAddressError extends Error {
  readonly code = 'EUNSAFEADDRESS';
  readonly address?: string;
  readonly dnsCode?: string;

  constructor(
    readonly reason: 'private_address' | 'unresolvable',
    details: { hostname?: string; address?: string; range?: string; dnsCode?: string } = {},
  ) {
    super(
      reason === 'unresolvable'
        ? `${details.hostname ?? 'host'} does not resolve${details.dnsCode ? ` (${details.dnsCode})` : ''}`
        : `${details.hostname && details.hostname !== details.address ? `${details.hostname} resolves to ` : ''}${details.address ?? 'an address'} which is not public${details.range ? ` (${details.range})` : ''}`,
    );
    this.name = 'UnsafeAddressError';
    this.address = details.address;
    this.dnsCode = details.dnsCode;
  }
}

/**
 * SPEC §5.3 in one object: the URL rules, the address rules (plus the configured development CIDRs), and a
 * `lookup` for sockets so the rules are applied again to the address actually dialled.
 */
export class AddressPolicy {
  readonly allowHttp: boolean;
  private readonly allowedCidrs: string[];
  private readonly resolver: DnsResolver;

  constructor(options: { allowHttp: boolean; allowedCidrs: string[]; resolver?: DnsResolver }) {
    this.allowHttp = options.allowHttp;
    this.allowedCidrs = options.allowedCidrs.map((c) => c.trim()).filter(Boolean);
    for (const c of this.allowedCidrs) {
      if (!ipaddr.isValidCIDR(c)) throw new Error(`invalid allowed CIDR "${c}"`);
    }
    this.resolver = options.resolver ?? systemResolver;
  }

  validateUrl(raw: unknown): UrlVerdict {
    return validateWebhookUrl(raw, { allowHttp: this.allowHttp });
  }

  isAllowed(ip: string): boolean {
    return classifyIp(ip).allowed || (this.allowedCidrs.length > 0 && isInCidrs(ip, this.allowedCidrs));
  }

  /**
   * Every address of the host must be allowed. An IP literal (any notation, brackets optional) is checked
   * without DNS. Throws UnsafeAddressError ('unresolvable' | 'private_address').
   */
  async resolveAndCheck(hostname: string): Promise<ResolvedAddress[]> {
    const literal = parseIpLiteral(hostname);
    if (literal) {
      const address = literal.toString();
      this.assertAllowed(address, hostname);
      return [{ address, family: literal.kind() === 'ipv6' ? 6 : 4 }];
    }
    let answers: ResolvedAddress[];
    try {
      answers = await this.resolver(hostname);
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      throw new UnsafeAddressError('unresolvable', { hostname, dnsCode: typeof code === 'string' ? code : undefined });
    }
    if (!answers?.length) throw new UnsafeAddressError('unresolvable', { hostname, dnsCode: 'ENODATA' });
    for (const a of answers) this.assertAllowed(a.address, hostname);
    return answers;
  }

  /**
   * Connect-time check for hosts that never reach `lookup`: Node's net.connect dials an IP literal directly.
   * Throws for a forbidden literal; does nothing for a host name (the lookup checks those).
   */
  assertConnectable(host: string): void {
    const literal = parseIpLiteral(host);
    if (literal) this.assertAllowed(literal.toString(), host);
  }

  /**
   * `net.LookupFunction` for net/tls connect, http(s).Agent and undici's buildConnector: resolves, applies the
   * policy to every answer, and hands the socket only addresses that passed. Supports the `all: true` form that
   * Node uses for happy-eyeballs (autoSelectFamily).
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : {};
    this.resolveAndCheck(hostname).then(
      (answers) => {
        const family = opts.family === 4 || opts.family === 'IPv4' ? 4 : opts.family === 6 || opts.family === 'IPv6' ? 6 : 0;
        const usable = family ? answers.filter((a) => a.family === family) : answers;
        if (!usable.length) {
          const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
          callback(err, opts.all ? [] : '', 0);
          return;
        }
        if (opts.all) callback(null, usable.map((a): LookupAddress => ({ address: a.address, family: a.family })));
        else callback(null, usable[0].address, usable[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, opts.all ? [] : '', 0),
    );
  };

  private assertAllowed(address: string, hostname: string): void {
    if (this.isAllowed(address)) return;
    const verdict = classifyIp(address);
    throw new UnsafeAddressError('private_address', {
      hostname: isIP(hostname) ? undefined : hostname,
      address,
      range: verdict.allowed ? undefined : verdict.reason,
    });
  }
}
