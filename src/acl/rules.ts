// Consul's ACL rule language (acl/policy.go): HCL or JSON text naming resources and the access a
// policy grants on them. Parsed strictly: an unknown resource, attribute or access level is a
// ValidationError naming it (and, for HCL syntax, the line and column), so a typo never becomes
// a silently missing grant.
import { ValidationError } from '../core/errors.js';
import { HclError, parseHcl, type HclObject, type HclValue } from './hcl.js';

export type Access = 'read' | 'write' | 'deny' | 'list';
export type IntentionAccess = 'read' | 'write' | 'deny';

/** A rule on one named (or prefixed) resource. */
export interface NamedRule {
  readonly name: string;
  readonly prefix: boolean;
  /** Unset when a service rule names only `intentions`: it then decides nothing about the service. */
  readonly policy?: Access;
  /** Only on service rules. */
  readonly intentions?: IntentionAccess;
}

/** The resources named by segment (`service "web"`, `service_prefix ""`). */
export const SEGMENTED = ['service', 'node', 'agent', 'key', 'query', 'session', 'event'] as const;
export type Segmented = (typeof SEGMENTED)[number];
/** The resources that are one level for the whole cluster (`operator = "read"`). */
export const SCALAR = ['operator', 'mesh', 'acl', 'keyring', 'peering'] as const;
export type Scalar = (typeof SCALAR)[number];

export interface Rules {
  readonly segmented: Readonly<Record<Segmented, readonly NamedRule[]>>;
  readonly scalar: Readonly<Partial<Record<Scalar, Exclude<Access, 'list'>>>>;
}

const LEVELS: readonly string[] = ['read', 'write', 'deny'];

function level(value: HclValue | undefined, field: string, allowList: boolean): Access {
  if (typeof value !== 'string' || !(LEVELS.includes(value) || (allowList && value === 'list'))) {
    throw ValidationError.of(field, `invalid access level ${JSON.stringify(value)} (want ${allowList ? 'read, write, list or deny' : 'read, write or deny'})`);
  }
  return value as Access;
}

/** HCL's JSON form allows a block as an object or as a list of objects: both read as one list. */
function objects(value: HclValue, field: string): HclObject[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((v, i) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw ValidationError.of(Array.isArray(value) ? `${field}[${i}]` : field, 'must be a block');
    return v;
  });
}

function namedRules(kind: Segmented, prefix: boolean, value: HclValue): NamedRule[] {
  const out: NamedRule[] = [];
  const top = `${kind}${prefix ? '_prefix' : ''}`;
  for (const block of objects(value, top)) {
    for (const [name, body] of Object.entries(block)) {
      const field = `${top} ${JSON.stringify(name)}`;
      let policy: Access | undefined;
      let intentions: IntentionAccess | undefined;
      for (const attrs of objects(body, field)) {
        for (const [k, v] of Object.entries(attrs)) {
          if (k === 'policy') policy = level(v, `${field}.policy`, kind === 'key');
          else if (k === 'intentions' && kind === 'service') intentions = level(v, `${field}.intentions`, false) as IntentionAccess;
          else throw ValidationError.of(`${field}.${k}`, 'unknown field');
        }
      }
      if (policy === undefined && intentions === undefined) throw ValidationError.of(`${field}.policy`, 'is required');
      out.push({ name, prefix, ...(policy ? { policy } : {}), ...(intentions ? { intentions } : {}) });
    }
  }
  return out;
}

/** Parses rule text (HCL, or JSON when it starts with `{`); `field` names it in errors. */
export function parseRules(text: string, field = 'Rules'): Rules {
  let doc: HclObject;
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('{')) {
      const parsed: unknown = JSON.parse(trimmed);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw ValidationError.of(field, 'must be an object');
      doc = parsed as HclObject;
    } else {
      doc = parseHcl(text);
    }
  } catch (err) {
    if (err instanceof HclError || err instanceof SyntaxError) throw ValidationError.of(field, `cannot be parsed: ${err.message}`);
    throw err;
  }
  const segmented = Object.fromEntries(SEGMENTED.map((s) => [s, [] as NamedRule[]])) as Record<Segmented, NamedRule[]>;
  const scalar: Partial<Record<Scalar, Exclude<Access, 'list'>>> = {};
  try {
    for (const [key, value] of Object.entries(doc)) {
      const seg = SEGMENTED.find((s) => key === s || key === `${s}_prefix`);
      if (seg) segmented[seg].push(...namedRules(seg, key.endsWith('_prefix'), value));
      else if ((SCALAR as readonly string[]).includes(key)) scalar[key as Scalar] = level(value, key, false) as Exclude<Access, 'list'>;
      else throw ValidationError.of(key, 'unknown rule (want service, service_prefix, node, node_prefix, agent, agent_prefix, key, key_prefix, query, query_prefix, session, session_prefix, event, event_prefix, operator, mesh, acl, keyring or peering)');
    }
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.issues.map((i) => ({ path: `${field}: ${i.path}`, message: i.message })));
    throw err;
  }
  return { segmented, scalar };
}
