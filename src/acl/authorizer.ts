// An Authorizer: what one token may do, compiled from its policies' rules with Consul's semantics
// (acl/policy_authorizer.go, acl/policy_merger.go):
// - all of a token's policies merge into one rule set; where two name the same segment, deny beats
//   write beats list beats read;
// - for a name, an exact rule decides; else the longest matching prefix rule; else the default;
// - write implies list and read; list implies read;
// - a service rule without `intentions` grants `intentions:read` when it grants read or write;
// - `mesh` unset follows `operator`;
// - the default (default_policy allow|deny) decides what no rule names, except ACL management,
//   which only an explicit `acl` rule grants (Consul's allow-all authorizer does not manage ACLs).
import { SCALAR, SEGMENTED, type Access, type Rules, type Scalar, type Segmented } from './rules.js';

export type Resource = Segmented | 'intention' | Scalar;
export type Want = 'read' | 'list' | 'write';
export type DefaultPolicy = 'allow' | 'deny';

const RANK: Record<Access, number> = { read: 1, list: 2, write: 3, deny: 4 };

function stronger(a: Access | undefined, b: Access): Access {
  return a === undefined || RANK[b] > RANK[a] ? b : a;
}

function grants(level: Access, want: Want): boolean {
  if (level === 'deny') return false;
  if (want === 'read') return true;
  if (want === 'list') return level === 'list' || level === 'write';
  return level === 'write';
}

class Table {
  readonly exact = new Map<string, Access>();
  readonly prefixes = new Map<string, Access>();

  add(name: string, prefix: boolean, level: Access): void {
    const m = prefix ? this.prefixes : this.exact;
    m.set(name, stronger(m.get(name), level));
  }

  /** The level that decides for `name`: exact, else longest prefix; undefined when none names it. */
  lookup(name: string): Access | undefined {
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    let best: string | undefined;
    for (const p of this.prefixes.keys()) if (name.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
    return best === undefined ? undefined : this.prefixes.get(best);
  }
}

export class Authorizer {
  private readonly tables = new Map<Resource, Table>();
  private readonly scalars: Partial<Record<Scalar, Access>> = {};

  constructor(
    rules: readonly Rules[],
    readonly defaultPolicy: DefaultPolicy,
  ) {
    for (const r of [...SEGMENTED, 'intention'] as const) this.tables.set(r, new Table());
    for (const set of rules) {
      for (const kind of SEGMENTED) {
        for (const rule of set.segmented[kind]) {
          if (rule.policy) this.tables.get(kind)!.add(rule.name, rule.prefix, rule.policy);
          if (kind !== 'service') continue;
          const intentions = rule.intentions ?? (rule.policy === 'read' || rule.policy === 'write' ? 'read' : undefined);
          if (intentions) this.tables.get('intention')!.add(rule.name, rule.prefix, intentions);
        }
      }
      for (const s of SCALAR) {
        const l = set.scalar[s];
        if (l) this.scalars[s] = stronger(this.scalars[s], l);
      }
    }
  }

  /** Whether `want` access to `resource` (named `name` for segmented ones) is allowed. */
  allows(resource: Resource, want: Want, name = ''): boolean {
    const level = this.levelOf(resource, name);
    if (level !== undefined) return grants(level, want);
    if (resource === 'acl') return false;
    return this.defaultPolicy === 'allow';
  }

  private levelOf(resource: Resource, name: string): Access | undefined {
    const table = this.tables.get(resource);
    if (table) return table.lookup(name);
    const s = resource as Scalar;
    if (s === 'mesh' && this.scalars.mesh === undefined) return this.scalars.operator;
    return this.scalars[s];
  }
}

/** The permission's name as Consul's denial message writes it (`service:write`, `acl:read`). */
export function permissionName(resource: Resource, want: Want): string {
  return `${resource}:${want}`;
}
