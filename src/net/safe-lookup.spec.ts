import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import axios from 'axios';
import { Agent, request } from 'undici';
import { axiosSafeConfig, createSafeAgents, createSafeDispatcher } from './http-clients';
import { AddressPolicy, DnsResolver, ResolvedAddress, UnsafeAddressError } from './safe-lookup';
import { describeTransportError } from './transport-errors';

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

/** A resolver answering from a table; unknown names fail like getaddrinfo does. */
function scripted(table: Record<string, ResolvedAddress[] | ResolvedAddress[][]>): jest.Mock<Promise<ResolvedAddress[]>, [string]> {
  const calls = new Map<string, number>();
  return jest.fn(async (name: string) => {
    const entry = table[name];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    // A list of lists is a sequence of answers, one per call (the last one repeats): DNS rebinding.
    if (Array.isArray(entry[0])) {
      const n = calls.get(name) ?? 0;
      calls.set(name, n + 1);
      const seq = entry as ResolvedAddress[][];
      return seq[Math.min(n, seq.length - 1)];
    }
    return entry as ResolvedAddress[];
  });
}

function policy(resolver: DnsResolver, allowedCidrs: string[] = []): AddressPolicy {
  return new AddressPolicy({ allowHttp: true, allowedCidrs, resolver });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

function unsafeInChain(error: unknown): UnsafeAddressError | undefined {
  for (let e = error as { cause?: unknown } | undefined, i = 0; e && i < 8; e = e.cause as typeof e, i++) {
    if (e instanceof UnsafeAddressError) return e;
  }
  return undefined;
}

describe('AddressPolicy.resolveAndCheck', () => {
  const resolver = scripted({
    'public.test': [v4('93.184.216.34'), v4('8.8.8.8'), v6('2606:4700:4700::1111')],
    'mixed.test': [v4('93.184.216.34'), v4('10.0.0.7'), v4('8.8.8.8')],
    'mapped.test': [v6('::ffff:169.254.169.254')],
    'empty.test': [],
    'dev.test': [v4('127.0.0.1')],
    'dual.test': [v4('127.0.0.1'), v6('::1')],
  });

  beforeEach(() => resolver.mockClear());

  it('returns every address when all are public', async () => {
    await expect(policy(resolver).resolveAndCheck('public.test')).resolves.toEqual([
      v4('93.184.216.34'),
      v4('8.8.8.8'),
      v6('2606:4700:4700::1111'),
    ]);
  });

  it('rejects the host when any one address is private', async () => {
    const e = await rejection(policy(resolver).resolveAndCheck('mixed.test'));
    expect(e).toBeInstanceOf(UnsafeAddressError);
    expect(e).toMatchObject({ code: 'EUNSAFEADDRESS', reason: 'private_address', address: '10.0.0.7' });
  });

  it('rejects an IPv4-mapped metadata address', async () => {
    await expect(policy(resolver).resolveAndCheck('mapped.test')).rejects.toMatchObject({ reason: 'private_address' });
  });

  it('reports a name that does not resolve as unresolvable, with the DNS code', async () => {
    const e = await rejection(policy(resolver).resolveAndCheck('nxdomain.test'));
    expect(e).toBeInstanceOf(UnsafeAddressError);
    expect(e).toMatchObject({ code: 'EUNSAFEADDRESS', reason: 'unresolvable', dnsCode: 'ENOTFOUND' });
    expect(describeTransportError(e)).toEqual({ errorClass: 'dns', message: 'DNS lookup failed (ENOTFOUND)' });
  });

  it('treats an empty answer as unresolvable', async () => {
    await expect(policy(resolver).resolveAndCheck('empty.test')).rejects.toMatchObject({ reason: 'unresolvable' });
  });

  it.each([
    ['127.0.0.1', false],
    ['2130706433', false],
    ['0x7f.1', false],
    ['[::1]', false],
    ['::1', false],
    ['[::ffff:7f00:1]', false],
    ['169.254.169.254', false],
    ['8.8.8.8', true],
    ['[2606:4700:4700::1111]', true],
  ])('checks the literal %s without DNS (allowed: %s)', async (host, allowed) => {
    const result = policy(resolver).resolveAndCheck(host);
    if (allowed) await expect(result).resolves.toHaveLength(1);
    else await expect(result).rejects.toMatchObject({ reason: 'private_address' });
    expect(resolver).not.toHaveBeenCalled();
  });

  it('returns the normalized literal', async () => {
    await expect(policy(resolver).resolveAndCheck('0x8.8.8.8')).resolves.toEqual([v4('8.8.8.8')]);
    await expect(policy(resolver).resolveAndCheck('[2606:4700:4700::1111]')).resolves.toEqual([v6('2606:4700:4700::1111')]);
  });

  it('lets configured CIDRs through, and only those', async () => {
    const dev = policy(resolver, ['127.0.0.0/8']);
    await expect(dev.resolveAndCheck('dev.test')).resolves.toEqual([v4('127.0.0.1')]);
    await expect(dev.resolveAndCheck('127.0.0.1')).resolves.toEqual([v4('127.0.0.1')]);
    await expect(dev.resolveAndCheck('::ffff:127.0.0.1')).resolves.toHaveLength(1);
    await expect(dev.resolveAndCheck('dual.test')).rejects.toMatchObject({ reason: 'private_address', address: '::1' });
    await expect(dev.resolveAndCheck('10.0.0.1')).rejects.toMatchObject({ reason: 'private_address' });
    await expect(policy(resolver).resolveAndCheck('dev.test')).rejects.toMatchObject({ reason: 'private_address' });
  });

  it('refuses an invalid configured CIDR at construction', () => {
    expect(() => policy(resolver, ['127.0.0.1/33'])).toThrow(/invalid allowed CIDR/);
  });
});

describe('AddressPolicy.isAllowed / assertConnectable / validateUrl', () => {
  const p = policy(scripted({}), ['192.168.50.0/24']);

  it('isAllowed: public or inside an allowed CIDR', () => {
    expect(p.isAllowed('8.8.8.8')).toBe(true);
    expect(p.isAllowed('192.168.50.9')).toBe(true);
    expect(p.isAllowed('::ffff:192.168.50.9')).toBe(true);
    expect(p.isAllowed('192.168.51.9')).toBe(false);
    expect(p.isAllowed('not an ip')).toBe(false);
  });

  it('assertConnectable throws for a forbidden literal and ignores host names', () => {
    expect(() => p.assertConnectable('127.0.0.1')).toThrow(UnsafeAddressError);
    expect(() => p.assertConnectable('[::1]')).toThrow(UnsafeAddressError);
    expect(() => p.assertConnectable('8.8.8.8')).not.toThrow();
    expect(() => p.assertConnectable('localhost')).not.toThrow();
  });

  it('validateUrl applies allowHttp', () => {
    expect(p.validateUrl('http://hooks.example.com/').ok).toBe(true);
    const strictPolicy = new AddressPolicy({ allowHttp: false, allowedCidrs: [], resolver: scripted({}) });
    expect(strictPolicy.allowHttp).toBe(false);
    expect(strictPolicy.validateUrl('http://hooks.example.com/')).toMatchObject({ ok: false, reason: 'not_https' });
  });
});

describe('AddressPolicy.lookup (net.LookupFunction)', () => {
  const resolver = scripted({ 'public.test': [v6('2606:4700:4700::1111'), v4('93.184.216.34')], 'mixed.test': [v4('8.8.8.8'), v4('127.0.0.1')] });
  const call = (host: string, options: object) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      policy(resolver).lookup(host, options, (err, address, family) => resolve({ err, address, family })),
    );

  it('answers with the first address', async () => {
    await expect(call('public.test', {})).resolves.toEqual({ err: null, address: '2606:4700:4700::1111', family: 6 });
  });

  it('answers the all: true form', async () => {
    const r = await call('public.test', { all: true });
    expect(r.err).toBeNull();
    expect(r.address).toEqual([v6('2606:4700:4700::1111'), v4('93.184.216.34')]);
  });

  it('honours the requested family', async () => {
    await expect(call('public.test', { family: 4 })).resolves.toEqual({ err: null, address: '93.184.216.34', family: 4 });
  });

  it('fails with UnsafeAddressError when any answer is forbidden', async () => {
    const r = await call('mixed.test', { all: true });
    expect(r.err).toBeInstanceOf(UnsafeAddressError);
    expect(r.err).toMatchObject({ reason: 'private_address', address: '127.0.0.1' });
  });
});

describe('connect-time enforcement against a real local server', () => {
  let server: http.Server;
  let port: number;
  let requests: number;
  let connections: number;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests++;
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/landed` });
        res.end();
        return;
      }
      res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'text/plain' });
      res.end('hello');
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    requests = 0;
    connections = 0;
  });

  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map((fn) => fn()));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function dispatcherFor(p: AddressPolicy): Agent {
    const d = createSafeDispatcher(p, { connectTimeoutMs: 2000, connections: 4 });
    cleanup.push(() => d.destroy());
    return d;
  }

  function axiosFor(p: AddressPolicy) {
    const agents = createSafeAgents(p, { keepAlive: false });
    cleanup.push(async () => {
      agents.httpAgent.destroy();
      agents.httpsAgent.destroy();
    });
    return axios.create(axiosSafeConfig(agents));
  }

  const rebindAfterCheck = () => scripted({ 'rebind.test': [[v4('93.184.216.34')], [v4('127.0.0.1')]] });

  describe('undici dispatcher', () => {
    it.each([
      ['an IPv4 literal', () => `http://127.0.0.1:${port}/`],
      ['an odd-notation literal', () => `http://0x7f.1:${port}/`],
      ['a host resolving to loopback', () => `http://rebind.test:${port}/`],
      ['an IPv6 loopback literal', () => `http://[::1]:${port}/`],
      ['an https literal', () => `https://127.0.0.1:${port}/`],
    ])('refuses %s before connecting', async (_label, url) => {
      const d = dispatcherFor(policy(scripted({ 'rebind.test': [v4('127.0.0.1')] })));
      const e = await rejection(request(url(), { dispatcher: d }));
      expect(unsafeInChain(e)).toMatchObject({ code: 'EUNSAFEADDRESS', reason: 'private_address' });
      expect(describeTransportError(e).errorClass).toBe('unsafe_address');
      expect(connections).toBe(0);
      expect(requests).toBe(0);
    });

    it('reaches the server when the range is allowed, by literal and by name', async () => {
      const d = dispatcherFor(policy(scripted({ 'rebind.test': [v4('127.0.0.1')] }), ['127.0.0.0/8']));
      const byLiteral = await request(`http://127.0.0.1:${port}/`, { dispatcher: d });
      expect(byLiteral.statusCode).toBe(200);
      expect(await byLiteral.body.text()).toBe('hello');
      const byName = await request(`http://rebind.test:${port}/`, { dispatcher: d });
      expect(byName.statusCode).toBe(200);
      await byName.body.text();
      expect(requests).toBe(2);
    });

    it('does not follow redirects', async () => {
      const d = dispatcherFor(policy(scripted({}), ['127.0.0.0/8']));
      const res = await request(`http://127.0.0.1:${port}/redirect`, { dispatcher: d });
      await res.body.text();
      expect(res.statusCode).toBe(302);
      expect(requests).toBe(1);
    });

    it('reports a host that stops resolving as a DNS failure', async () => {
      const d = dispatcherFor(policy(scripted({})));
      const e = await rejection(request(`http://nxdomain.test:${port}/`, { dispatcher: d }));
      expect(unsafeInChain(e)).toMatchObject({ reason: 'unresolvable', dnsCode: 'ENOTFOUND' });
      expect(describeTransportError(e).errorClass).toBe('dns');
    });

    it('is DNS-rebinding safe: the registration check passes, the dial is refused', async () => {
      const resolver = rebindAfterCheck();
      const p = policy(resolver);
      await expect(p.resolveAndCheck('rebind.test')).resolves.toEqual([v4('93.184.216.34')]);
      const e = await rejection(request(`http://rebind.test:${port}/`, { dispatcher: dispatcherFor(p) }));
      expect(unsafeInChain(e)).toMatchObject({ reason: 'private_address', address: '127.0.0.1' });
      expect(resolver).toHaveBeenCalledTimes(2);
      expect(connections).toBe(0);
    });
  });

  describe('axios with the safe agents', () => {
    it.each([
      ['an IPv4 literal', () => `http://127.0.0.1:${port}/`],
      ['an odd-notation literal', () => `http://2130706433:${port}/`],
      ['a host resolving to loopback', () => `http://rebind.test:${port}/`],
      ['an IPv6 loopback literal', () => `http://[::1]:${port}/`],
      ['an https literal', () => `https://127.0.0.1:${port}/`],
      ['an https host resolving to loopback', () => `https://rebind.test:${port}/`],
    ])('refuses %s before connecting', async (_label, url) => {
      const client = axiosFor(policy(scripted({ 'rebind.test': [v4('127.0.0.1')] })));
      const e = await rejection(client.post(url(), 'x'));
      expect(unsafeInChain(e)).toMatchObject({ code: 'EUNSAFEADDRESS', reason: 'private_address' });
      expect(describeTransportError(e).errorClass).toBe('unsafe_address');
      expect(connections).toBe(0);
      expect(requests).toBe(0);
    });

    it('reaches the server when the range is allowed, returns any status, follows no redirect', async () => {
      const client = axiosFor(policy(scripted({ 'rebind.test': [v4('127.0.0.1')] }), ['127.0.0.0/8']));
      expect((await client.get(`http://127.0.0.1:${port}/`)).data).toBe('hello');
      expect((await client.get(`http://rebind.test:${port}/fail`)).status).toBe(500);
      const redirected = await client.get(`http://127.0.0.1:${port}/redirect`);
      expect(redirected.status).toBe(302);
      expect(requests).toBe(3);
    });

    it('is DNS-rebinding safe: the registration check passes, the dial is refused', async () => {
      const resolver = rebindAfterCheck();
      const p = policy(resolver);
      await expect(p.resolveAndCheck('rebind.test')).resolves.toHaveLength(1);
      const e = await rejection(axiosFor(p).post(`http://rebind.test:${port}/`, 'x'));
      expect(unsafeInChain(e)).toMatchObject({ reason: 'private_address', address: '127.0.0.1' });
      expect(resolver).toHaveBeenCalledTimes(2);
      expect(connections).toBe(0);
    });
  });
});
