// Token secret -> Authorizer. A token's rules are its policies', its roles' policies', and the
// synthetic policies of its (and its roles') service and node identities (Consul's templates),
// each only where its Datacenters include this one. Resolutions are cached per secret and dropped
// when any ACL table changes; `watch` gives the same resolution as a stream, for long-lived
// consumers (an xDS stream re-checks its token when it changes, issue 15 item 3).
import { createHash } from 'node:crypto';
import { map, type Observable } from 'rxjs';
import { PermissionDeniedError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { ReadTx } from '../store/types.js';
import { ACL_TABLES, expired, tokenView, type AclStore } from './acl-store.js';
import { Authorizer, type DefaultPolicy } from './authorizer.js';
import { ANONYMOUS_ACCESSOR_ID, type AclPolicy, type AclToken, type NodeIdentity, type ServiceIdentity } from './model.js';
import { parseRules, type Rules } from './rules.js';

export interface Resolved {
  readonly token: AclToken;
  readonly authorizer: Authorizer;
}

export interface ResolverOptions {
  readonly datacenter: string;
  readonly defaultPolicy: DefaultPolicy;
  readonly clock: Clock;
}

/** Consul's synthetic policy for a service identity: the service and its sidecar, and discovery. */
export function serviceIdentityRules(name: string): string {
  return `service "${name}" {
  policy = "write"
}
service "${name}-sidecar-proxy" {
  policy = "write"
}
service_prefix "" {
  policy = "read"
}
node_prefix "" {
  policy = "read"
}`;
}

/** Consul's synthetic policy for a node identity: its node, and reading services. */
export function nodeIdentityRules(name: string): string {
  return `node "${name}" {
  policy = "write"
}
service_prefix "" {
  policy = "read"
}`;
}

interface Compiled {
  readonly token: AclToken;
  readonly rules: readonly Rules[];
}

function compile(tx: ReadTx, token: AclToken, datacenter: string): Compiled {
  const policyIds = new Set(token.Policies.map((p) => p.ID));
  const services: ServiceIdentity[] = [...token.ServiceIdentities];
  const nodes: NodeIdentity[] = [...token.NodeIdentities];
  for (const link of token.Roles) {
    const role = tx.get<{ PolicyIDs: string[]; ServiceIdentities: ServiceIdentity[]; NodeIdentities: NodeIdentity[] }>('acl_roles', link.ID)?.value;
    if (!role) continue;
    for (const id of role.PolicyIDs) policyIds.add(id);
    services.push(...role.ServiceIdentities);
    nodes.push(...role.NodeIdentities);
  }
  const texts: string[] = [];
  for (const id of policyIds) {
    const p = tx.get<AclPolicy>('acl_policies', id)?.value;
    if (p && (p.Datacenters.length === 0 || p.Datacenters.includes(datacenter))) texts.push(p.Rules);
  }
  for (const s of services) if (!s.Datacenters?.length || s.Datacenters.includes(datacenter)) texts.push(serviceIdentityRules(s.ServiceName));
  for (const n of nodes) if (n.Datacenter === datacenter) texts.push(nodeIdentityRules(n.NodeName));
  return { token, rules: texts.map((t) => parseRules(t)) };
}

function secretKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class TokenResolver {
  private cache = new Map<string, Resolved>();
  private cachedAt = -1;

  constructor(
    private readonly acls: AclStore,
    private readonly opts: ResolverOptions,
  ) {}

  get defaultPolicy(): DefaultPolicy {
    return this.opts.defaultPolicy;
  }

  private find(tx: ReadTx, secret: string | undefined): AclToken | undefined {
    const accessor = secret === undefined || secret === '' ? ANONYMOUS_ACCESSOR_ID : tx.list<{ SecretID: string }>('acl_tokens').find((r) => r.value.SecretID === secret)?.key;
    const token = accessor === undefined ? undefined : tokenView(tx, accessor);
    return token && !expired(token, new Date(this.opts.clock.now())) ? token : undefined;
  }

  /** The token for `secret` (the anonymous token when none is given) and what it may do; 403 "ACL not found" when unknown. */
  resolve(secret: string | undefined): Resolved {
    const index = this.acls.store.read((tx) => tx.tableIndex(...ACL_TABLES));
    if (index !== this.cachedAt) {
      this.cache = new Map();
      this.cachedAt = index;
    }
    const key = secretKey(secret ?? '');
    const hit = this.cache.get(key);
    if (hit && !expired(hit.token, new Date(this.opts.clock.now()))) return hit;
    const compiled = this.acls.store.read((tx) => {
      const token = this.find(tx, secret);
      return token && compile(tx, token, this.opts.datacenter);
    });
    if (!compiled) throw new PermissionDeniedError('ACL not found');
    const resolved = { token: compiled.token, authorizer: new Authorizer(compiled.rules, this.opts.defaultPolicy) };
    this.cache.set(key, resolved);
    return resolved;
  }

  /** The resolution of `secret` now and after every change to it; undefined once the token is gone or expired. */
  watch(secret: string): Observable<Resolved | undefined> {
    return this.acls.store
      .watch(`acl-token:${secretKey(secret)}`, ACL_TABLES, (tx) => {
        const token = this.find(tx, secret);
        return token ? compile(tx, token, this.opts.datacenter) : undefined;
      })
      .pipe(map(({ value }) => (value ? { token: value.token, authorizer: new Authorizer(value.rules, this.opts.defaultPolicy) } : undefined)));
  }
}
