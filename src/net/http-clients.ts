import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { AddressPolicy, UnsafeAddressError } from './safe-lookup';

/*
 * Both clients apply the address policy where the socket is opened:
 * - a host name goes through `policy.lookup`, so the address checked is the address dialled (DNS-rebinding safe);
 * - an IP literal never reaches a lookup function (net.connect dials it directly), so it is checked here first.
 * Neither client follows redirects.
 */

type CreateConnectionCallback = (err: Error | null, socket: Duplex) => void;

function caList(ca: string | undefined): string[] | undefined {
  // Added to Node's roots, not replacing them: a private CA for tests/on-prem receivers, public CAs still work.
  return ca ? [...tls.rootCertificates, ca] : undefined;
}

/** null when the host may be dialled, else the error to fail the connection with. */
function refuseLiteral(policy: AddressPolicy, host: unknown): UnsafeAddressError | null {
  if (typeof host !== 'string') return null;
  try {
    policy.assertConnectable(host);
    return null;
  } catch (e) {
    if (e instanceof UnsafeAddressError) return e;
    throw e;
  }
}

function guardedConnect(
  policy: AddressPolicy,
  options: http.ClientRequestArgs,
  callback: CreateConnectionCallback | undefined,
  connect: (options: http.ClientRequestArgs, callback?: CreateConnectionCallback) => Duplex | null | undefined,
): Duplex | null | undefined {
  const refused = refuseLiteral(policy, options.host ?? options.hostname);
  if (refused) {
    // http.Agent turns this into the request's 'error' event; axios rejects with it as the cause.
    callback?.(refused, undefined as unknown as Duplex);
    return undefined;
  }
  return connect({ ...options, lookup: policy.lookup }, callback);
}

/**
 * Node agents for axios (@nestjs/axios HttpService). The agents' own `lookup` is merged into every request's
 * connect options by http.Agent; `createConnection` sets it again and checks literals before dialling.
 */
export function createSafeAgents(
  policy: AddressPolicy,
  opts: { ca?: string; keepAlive: boolean },
): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  class SafeHttpAgent extends http.Agent {
    override createConnection(options: http.ClientRequestArgs, callback?: CreateConnectionCallback): Duplex | null | undefined {
      return guardedConnect(policy, options, callback, (o, cb) => super.createConnection(o, cb));
    }
  }
  class SafeHttpsAgent extends https.Agent {
    override createConnection(options: http.ClientRequestArgs, callback?: CreateConnectionCallback): Duplex | null | undefined {
      return guardedConnect(policy, options, callback, (o, cb) => super.createConnection(o, cb));
    }
  }
  const httpAgent = new SafeHttpAgent({ keepAlive: opts.keepAlive, lookup: policy.lookup } as http.AgentOptions);
  const httpsAgent = new SafeHttpsAgent({ keepAlive: opts.keepAlive, lookup: policy.lookup, ca: caList(opts.ca) } as https.AgentOptions);
  return { httpAgent, httpsAgent };
}

/** The axios config for `HttpModule.registerAsync`: safe agents, no redirects, no proxy, every status is an answer. */
export function axiosSafeConfig(agents: { httpAgent: http.Agent; httpsAgent: https.Agent }) {
  return {
    httpAgent: agents.httpAgent,
    httpsAgent: agents.httpsAgent,
    maxRedirects: 0,
    proxy: false as const,
    validateStatus: () => true,
  };
}

/**
 * The delivery engine's undici dispatcher: keep-alive pools of `connections` sockets per origin, and a connector
 * that refuses forbidden IP literals and resolves host names through the policy.
 */
export function createSafeDispatcher(policy: AddressPolicy, opts: { ca?: string; connectTimeoutMs: number; connections: number }): Agent {
  const connector = buildConnector({ lookup: policy.lookup, ca: caList(opts.ca), timeout: opts.connectTimeoutMs });
  const connect: buildConnector.connector = (options, callback) => {
    const refused = refuseLiteral(policy, options.hostname);
    if (refused) {
      // Asynchronously, like a real connect failure: undici resumes its queue from inside this callback.
      process.nextTick(callback, refused, null);
      return;
    }
    return connector(options, callback);
  };
  return new Agent({ connect, connections: opts.connections, pipelining: 1 });
}
