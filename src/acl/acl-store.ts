// ACL tokens, policies and roles in the state store (tables acl_tokens by AccessorID, acl_policies
// and acl_roles by ID, acl_meta for the bootstrap record). Every write validates first and changes
// nothing on error; links to policies and roles are stored by ID and shown with the current
// names (a renamed policy shows its new name, a deleted one drops out), as Consul resolves them.
import { NotFoundError, PermissionDeniedError, ValidationError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { ReadTx, Store, WriteTx } from '../store/types.js';
import {
  ANONYMOUS_ACCESSOR_ID,
  ANONYMOUS_SECRET_ID,
  GLOBAL_MANAGEMENT_ID,
  GLOBAL_MANAGEMENT_RULES,
  expirationOf,
  hashOf,
  newId,
  parsePolicyBody,
  parseRoleBody,
  parseTokenBody,
  type AclPolicy,
  type AclRole,
  type AclToken,
  type PolicyLink,
} from './model.js';

type Stored<T> = Omit<T, 'CreateIndex' | 'ModifyIndex'>;
type StoredToken = Omit<Stored<AclToken>, 'Policies' | 'Roles'> & { readonly PolicyIDs: readonly string[]; readonly RoleIDs: readonly string[] };
type StoredRole = Omit<Stored<AclRole>, 'Policies'> & { readonly PolicyIDs: readonly string[] };

export const ACL_TABLES = ['acl_tokens', 'acl_policies', 'acl_roles', 'acl_meta'] as const;

const GLOBAL_MANAGEMENT: Stored<AclPolicy> = {
  ID: GLOBAL_MANAGEMENT_ID,
  Name: 'global-management',
  Description: 'Builtin Policy that grants unlimited access',
  Rules: GLOBAL_MANAGEMENT_RULES,
  Datacenters: [],
  Hash: hashOf(['global-management', GLOBAL_MANAGEMENT_RULES]),
};

function policyLinks(tx: ReadTx, ids: readonly string[]): PolicyLink[] {
  return ids.flatMap((id) => {
    const p = tx.get<Stored<AclPolicy>>('acl_policies', id)?.value;
    return p ? [{ ID: p.ID, Name: p.Name }] : [];
  });
}

function roleLinks(tx: ReadTx, ids: readonly string[]): PolicyLink[] {
  return ids.flatMap((id) => {
    const r = tx.get<StoredRole>('acl_roles', id)?.value;
    return r ? [{ ID: r.ID, Name: r.Name }] : [];
  });
}

export function tokenView(tx: ReadTx, key: string): AclToken | undefined {
  const row = tx.get<StoredToken>('acl_tokens', key);
  if (!row) return undefined;
  const { PolicyIDs, RoleIDs, ...rest } = row.value;
  return { ...rest, Policies: policyLinks(tx, PolicyIDs), Roles: roleLinks(tx, RoleIDs), CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex };
}

export function policyView(tx: ReadTx, id: string): AclPolicy | undefined {
  const row = tx.get<Stored<AclPolicy>>('acl_policies', id);
  return row ? { ...row.value, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex } : undefined;
}

export function roleView(tx: ReadTx, id: string): AclRole | undefined {
  const row = tx.get<StoredRole>('acl_roles', id);
  if (!row) return undefined;
  const { PolicyIDs, ...rest } = row.value;
  return { ...rest, Policies: policyLinks(tx, PolicyIDs), CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex };
}

/** Policy or role links given by ID or Name, resolved to IDs; unknown ones are a 400 naming the entry. */
function resolveLinks(tx: ReadTx, table: 'acl_policies' | 'acl_roles', links: readonly { ID?: string | undefined; Name?: string | undefined }[] | null | undefined, field: string): string[] {
  const kind = table === 'acl_policies' ? 'policy' : 'role';
  const ids: string[] = [];
  (links ?? []).forEach((l, i) => {
    const f = `${field}[${i}]`;
    let id: string | undefined;
    if (l.ID) {
      if (!tx.get(table, l.ID)) throw ValidationError.of(`${f}.ID`, `no ACL ${kind} with ID "${l.ID}"`);
      id = l.ID;
    } else if (l.Name) {
      id = tx.list<{ ID: string; Name: string }>(table).find((r) => r.value.Name === l.Name)?.value.ID;
      if (!id) throw ValidationError.of(`${f}.Name`, `no ACL ${kind} named "${l.Name}"`);
    } else {
      throw ValidationError.of(f, 'ID or Name is required');
    }
    if (!ids.includes(id)) ids.push(id);
  });
  return ids;
}

function byName<T extends { Name: string }>(tx: ReadTx, table: 'acl_policies' | 'acl_roles', name: string): { key: string; value: T } | undefined {
  return tx.list<T>(table).find((r) => r.value.Name === name);
}

export class AclStore {
  constructor(
    readonly store: Store,
    private readonly clock: Clock,
  ) {}

  private now(): Date {
    return new Date(this.clock.now());
  }

  /** Creates the builtin global-management policy and the anonymous token when missing. */
  async ensureBuiltins(): Promise<void> {
    await this.store.write((tx) => {
      if (!tx.get('acl_policies', GLOBAL_MANAGEMENT_ID)) tx.put('acl_policies', GLOBAL_MANAGEMENT_ID, GLOBAL_MANAGEMENT);
      if (!tx.get('acl_tokens', ANONYMOUS_ACCESSOR_ID)) {
        const t = { AccessorID: ANONYMOUS_ACCESSOR_ID, SecretID: ANONYMOUS_SECRET_ID, Description: 'Anonymous Token', PolicyIDs: [], RoleIDs: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: this.now().toISOString() };
        tx.put<StoredToken>('acl_tokens', ANONYMOUS_ACCESSOR_ID, { ...t, Hash: hashOf(t) });
      }
    });
  }

  /** The one bootstrap: a management token; afterwards Consul's 403 with the reset index. */
  async bootstrap(): Promise<AclToken> {
    const { result } = await this.store.write((tx) => {
      const done = tx.get<{ index: number }>('acl_meta', 'bootstrap');
      if (done) throw new PermissionDeniedError(`ACL bootstrap no longer allowed (reset index: ${done.value.index})`);
      if (!tx.get('acl_policies', GLOBAL_MANAGEMENT_ID)) tx.put('acl_policies', GLOBAL_MANAGEMENT_ID, GLOBAL_MANAGEMENT);
      tx.put('acl_meta', 'bootstrap', { index: tx.index });
      const id = newId();
      this.putToken(tx, id, { AccessorID: id, SecretID: newId(), Description: 'Bootstrap Token (Global Management)', PolicyIDs: [GLOBAL_MANAGEMENT_ID], RoleIDs: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: this.now().toISOString() });
      return id;
    });
    return this.token(result)!;
  }

  private putToken(tx: WriteTx, key: string, t: Omit<StoredToken, 'Hash'>): void {
    const { CreateTime: _c, ...hashed } = t;
    tx.put<StoredToken>('acl_tokens', key, { ...t, Hash: hashOf(hashed) });
  }

  /** Creates a token (`accessor` undefined) or updates the one with that AccessorID. */
  async putTokenBody(input: unknown, accessor?: string): Promise<AclToken> {
    const b = parseTokenBody(input);
    const { result } = await this.store.write((tx) => {
      const policyIDs = resolveLinks(tx, 'acl_policies', b.Policies, 'Policies');
      const roleIDs = resolveLinks(tx, 'acl_roles', b.Roles, 'Roles');
      const common = { Description: b.Description ?? '', PolicyIDs: policyIDs, RoleIDs: roleIDs, ServiceIdentities: b.ServiceIdentities ?? [], NodeIdentities: b.NodeIdentities ?? [] };
      if (accessor === undefined) {
        const id = b.AccessorID ?? newId();
        const secret = b.SecretID ?? newId();
        if (tx.get('acl_tokens', id)) throw ValidationError.of('AccessorID', 'is already in use');
        if (secret === ANONYMOUS_SECRET_ID || tx.list<StoredToken>('acl_tokens').some((r) => r.value.SecretID === secret)) throw ValidationError.of('SecretID', 'is already in use');
        const exp = expirationOf(b, this.now());
        this.putToken(tx, id, { AccessorID: id, SecretID: secret, ...common, Local: b.Local ?? false, ...(exp ? { ExpirationTime: exp } : {}), ...(b.ExpirationTTL ? { ExpirationTTL: b.ExpirationTTL } : {}), CreateTime: this.now().toISOString() });
        return id;
      }
      if (b.AccessorID !== undefined && b.AccessorID !== accessor) throw ValidationError.of('AccessorID', `does not match the path (${accessor})`);
      const prev = tx.get<StoredToken>('acl_tokens', accessor)?.value;
      if (!prev || expired(prev, this.now())) throw new NotFoundError('ACL not found');
      if (b.SecretID !== undefined && b.SecretID !== prev.SecretID) throw ValidationError.of('SecretID', 'cannot be changed');
      if (b.Local !== undefined && b.Local !== prev.Local) throw ValidationError.of('Local', 'cannot be changed');
      if (b.ExpirationTTL !== undefined && b.ExpirationTTL !== prev.ExpirationTTL) throw ValidationError.of('ExpirationTTL', 'cannot be changed');
      if (b.ExpirationTime !== undefined && Date.parse(b.ExpirationTime) !== (prev.ExpirationTime ? Date.parse(prev.ExpirationTime) : NaN)) throw ValidationError.of('ExpirationTime', 'cannot be changed');
      this.putToken(tx, accessor, { ...prev, ...common });
      return accessor;
    });
    return this.token(result)!;
  }

  token(accessor: string): AclToken | undefined {
    return this.store.read((tx) => {
      const t = tokenView(tx, accessor);
      return t && !expired(t, this.now()) ? t : undefined;
    });
  }

  tokenBySecret(secret: string): AclToken | undefined {
    return this.store.read((tx) => {
      const row = tx.list<StoredToken>('acl_tokens').find((r) => r.value.SecretID === secret);
      const t = row && tokenView(tx, row.key);
      return t && !expired(t, this.now()) ? t : undefined;
    });
  }

  /** Tokens, optionally only those linking a policy or role (Consul's ?policy= and ?role=). */
  tokens(filter: { policy?: string; role?: string } = {}): AclToken[] {
    const now = this.now();
    return this.store.read((tx) =>
      tx
        .list<StoredToken>('acl_tokens')
        .filter((r) => !expired(r.value, now) && (!filter.policy || r.value.PolicyIDs.includes(filter.policy)) && (!filter.role || r.value.RoleIDs.includes(filter.role)))
        .map((r) => tokenView(tx, r.key)!),
    );
  }

  async deleteToken(accessor: string): Promise<boolean> {
    if (accessor === ANONYMOUS_ACCESSOR_ID) throw ValidationError.of('AccessorID', 'the anonymous token cannot be deleted');
    const { result } = await this.store.write((tx) => tx.delete('acl_tokens', accessor));
    return result;
  }

  async putPolicyBody(input: unknown, id?: string): Promise<AclPolicy> {
    const b = parsePolicyBody(input);
    const { result } = await this.store.write((tx) => {
      const key = id ?? b.ID ?? newId();
      if (id !== undefined && b.ID !== undefined && b.ID !== id) throw ValidationError.of('ID', `does not match the path (${id})`);
      const prev = tx.get<Stored<AclPolicy>>('acl_policies', key)?.value;
      if (id === undefined && prev) throw ValidationError.of('ID', 'is already in use');
      if (id !== undefined && !prev) throw new NotFoundError(`ACL policy not found: ${id}`);
      const same = byName<Stored<AclPolicy>>(tx, 'acl_policies', b.Name);
      if (same && same.key !== key) throw ValidationError.of('Name', `a policy named "${b.Name}" already exists`);
      if (key === GLOBAL_MANAGEMENT_ID) {
        if ((b.Rules ?? '') !== GLOBAL_MANAGEMENT_RULES) throw ValidationError.of('Rules', 'changing the rules of the builtin global-management policy is not permitted');
        if ((b.Datacenters ?? []).length > 0) throw ValidationError.of('Datacenters', 'the builtin global-management policy applies in every datacenter');
      }
      const p = { ID: key, Name: b.Name, Description: b.Description ?? '', Rules: b.Rules ?? '', Datacenters: b.Datacenters ?? [] };
      tx.put<Stored<AclPolicy>>('acl_policies', key, { ...p, Hash: hashOf(p) });
      return key;
    });
    return this.policy(result)!;
  }

  policy(id: string): AclPolicy | undefined {
    return this.store.read((tx) => policyView(tx, id));
  }

  policyByName(name: string): AclPolicy | undefined {
    return this.store.read((tx) => {
      const r = byName<Stored<AclPolicy>>(tx, 'acl_policies', name);
      return r && policyView(tx, r.key);
    });
  }

  policies(): AclPolicy[] {
    return this.store.read((tx) => tx.list('acl_policies').map((r) => policyView(tx, r.key)!));
  }

  async deletePolicy(id: string): Promise<boolean> {
    if (id === GLOBAL_MANAGEMENT_ID) throw ValidationError.of('ID', 'the builtin global-management policy cannot be deleted');
    const { result } = await this.store.write((tx) => tx.delete('acl_policies', id));
    return result;
  }

  async putRoleBody(input: unknown, id?: string): Promise<AclRole> {
    const b = parseRoleBody(input);
    const { result } = await this.store.write((tx) => {
      const key = id ?? b.ID ?? newId();
      if (id !== undefined && b.ID !== undefined && b.ID !== id) throw ValidationError.of('ID', `does not match the path (${id})`);
      const prev = tx.get('acl_roles', key);
      if (id === undefined && prev) throw ValidationError.of('ID', 'is already in use');
      if (id !== undefined && !prev) throw new NotFoundError(`ACL role not found: ${id}`);
      const same = byName<StoredRole>(tx, 'acl_roles', b.Name);
      if (same && same.key !== key) throw ValidationError.of('Name', `a role named "${b.Name}" already exists`);
      const r = { ID: key, Name: b.Name, Description: b.Description ?? '', PolicyIDs: resolveLinks(tx, 'acl_policies', b.Policies, 'Policies'), ServiceIdentities: b.ServiceIdentities ?? [], NodeIdentities: b.NodeIdentities ?? [] };
      tx.put<StoredRole>('acl_roles', key, { ...r, Hash: hashOf(r) });
      return key;
    });
    return this.role(result)!;
  }

  role(id: string): AclRole | undefined {
    return this.store.read((tx) => roleView(tx, id));
  }

  roleByName(name: string): AclRole | undefined {
    return this.store.read((tx) => {
      const r = byName<StoredRole>(tx, 'acl_roles', name);
      return r && roleView(tx, r.key);
    });
  }

  roles(): AclRole[] {
    return this.store.read((tx) => tx.list('acl_roles').map((r) => roleView(tx, r.key)!));
  }

  async deleteRole(id: string): Promise<boolean> {
    const { result } = await this.store.write((tx) => tx.delete('acl_roles', id));
    return result;
  }

  /** The index of the last change to any ACL table (for X-Consul-Index). */
  index(): number {
    return this.store.read((tx) => Math.max(1, tx.tableIndex(...ACL_TABLES)));
  }
}

export function expired(t: { readonly ExpirationTime?: string }, now: Date): boolean {
  return t.ExpirationTime !== undefined && Date.parse(t.ExpirationTime) <= now.getTime();
}

