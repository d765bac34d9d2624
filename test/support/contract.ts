/**
 * Real responses checked against the service's own /docs-json with openapi-enforcer, a maintained third-party
 * OpenAPI 3.0 validator (it treats `nullable` as 3.0 says, so nullable $refs validate). A response fails when its
 * status is not documented for the operation, its body is off the documented schema, or a header the document
 * declares as required is missing or off its schema.
 *
 * The document is made stricter for the check: every object schema with declared properties is closed
 * (`additionalProperties: false`), so an undocumented field in a body is a failure too. The error envelope's
 * detail object stays open: it carries context fields by design (SPEC §2).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Enforcer = require('openapi-enforcer');

export interface ObservedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

const OPEN_SCHEMAS = new Set(['ErrorDetailObjectDto']);

function closeObjects(node: unknown, name?: string): void {
  if (Array.isArray(node)) return node.forEach((n) => closeObjects(n));
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  const props = o.properties && typeof o.properties === 'object' ? (o.properties as Record<string, unknown>) : null;
  if (props && o.additionalProperties === undefined && !(name && OPEN_SCHEMAS.has(name))) o.additionalProperties = false;
  // walk schemas only: a `properties` map is not a schema (a field may itself be called "properties")
  if (props) for (const v of Object.values(props)) closeObjects(v);
  for (const k of ['items', 'allOf', 'oneOf', 'anyOf', 'not', 'additionalProperties']) if (o[k] && typeof o[k] === 'object') closeObjects(o[k]);
}

export class Contract {
  private constructor(
    private readonly api: any,
    readonly document: any,
  ) {}

  static async load(document: unknown): Promise<Contract> {
    const strict = JSON.parse(JSON.stringify(document));
    for (const [name, schema] of Object.entries<Record<string, unknown>>(strict.components?.schemas ?? {})) {
      if (OPEN_SCHEMAS.has(name)) continue;
      closeObjects(schema, name);
    }
    const [api, error] = await Enforcer(strict, { fullResult: true });
    if (error) throw new Error(`the document itself is invalid for openapi-enforcer:\n${error}`);
    return new Contract(api, document);
  }

  /** The operation a request lands on, or null when the document has none for it. */
  operation(method: string, path: string): { operationId: string; responses: Record<string, any>; response: (...a: unknown[]) => [unknown, unknown] } | null {
    const [match] = this.api.path(method.toLowerCase(), path.split('?')[0]);
    return match ? match.operation : null;
  }

  /** Problems of one response ([] when it matches the document). */
  check(method: string, path: string, res: ObservedResponse): string[] {
    const op = this.operation(method, path);
    if (!op) return [`${method} ${path}: no such operation in the document`];
    const documented = op.responses[String(res.status)];
    if (!documented) return [`${op.operationId}: status ${res.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`];
    // header values arrive as strings: integers declared as such are parsed first, anything else is left as sent
    const headers: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    for (const [name, h] of Object.entries<any>(documented.headers ?? {})) {
      const v = headers[name.toLowerCase()];
      if (typeof v === 'string' && h.schema?.type === 'integer' && /^-?\d+$/.test(v)) headers[name.toLowerCase()] = Number(v);
    }
    const out: string[] = [];
    // the body as a client reads it: deserialized by its schema (date-time strings become dates), then validated
    const schema = documented.content?.['application/json']?.schema;
    if (schema) {
      let [value, err] = schema.deserialize(res.body);
      if (!err) err = schema.validate(value);
      if (err) out.push(`${op.operationId} ${res.status}: body ${String(err).replace(/\n/g, ' | ')}`);
    } else if (documented.content) {
      out.push(`${op.operationId} ${res.status}: the document has no JSON schema for this answer`);
    }
    // status and headers (the body was checked above)
    const [, error] = op.response(res.status, undefined, headers);
    if (error) out.push(`${op.operationId} ${res.status}: ${String(error).replace(/\n/g, ' | ')}`);
    return out;
  }
}
