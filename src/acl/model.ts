// ACL tokens, policies and roles in Consul's JSON shapes (api/acl.go, agent/structs/acl.go), with
// the strict validation of bodies written through the API: each problem names its field.
import { z } from 'zod';
import { createHash, randomUUID } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { parseInput } from '../core/validate.js';
import { parseRules } from './rules.js';

export interface PolicyLink {
  readonly ID: string;
  readonly Name: string;
}
export type RoleLink = PolicyLink;
export interface ServiceIdentity {
  readonly ServiceName: string;
  readonly Datacenters?: readonly string[];
}
export interface NodeIdentity {
  readonly NodeName: string;
  readonly Datacenter: string;
}

export interface AclToken {
  readonly AccessorID: string;
  readonly SecretID: string;
  readonly Description: string;
  readonly Policies: readonly PolicyLink[];
  readonly Roles: readonly RoleLink[];
  readonly ServiceIdentities: readonly ServiceIdentity[];
  readonly NodeIdentities: readonly NodeIdentity[];
  readonly Local: boolean;
  readonly ExpirationTime?: string;
  readonly ExpirationTTL?: string;
  readonly CreateTime: string;
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface AclPolicy {
  readonly ID: string;
  readonly Name: string;
  readonly Description: string;
  readonly Rules: string;
  readonly Datacenters: readonly string[];
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface AclRole {
  readonly ID: string;
  readonly Name: string;
  readonly Description: string;
  readonly Policies: readonly PolicyLink[];
  readonly ServiceIdentities: readonly ServiceIdentity[];
  readonly NodeIdentities: readonly NodeIdentity[];
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export const GLOBAL_MANAGEMENT_ID = '00000000-0000-0000-0000-000000000001';
export const ANONYMOUS_ACCESSOR_ID = '00000000-0000-0000-0000-000000000002';
export const ANONYMOUS_SECRET_ID = 'anonymous';
/** Consul's rules of the builtin `global-management` policy (every resource, write). */
export const GLOBAL_MANAGEMENT_RULES = `acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}`;

export function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const uuid = z.string().regex(UUID, 'must be a UUID');
/** Consul's policy and role names (validPolicyName / validRoleName). */
const policyName = z.string().regex(/^[A-Za-z0-9\-_]{1,128}$/, 'must be 1-128 letters, digits, "-" or "_"');
const roleName = z.string().regex(/^[A-Za-z0-9\-_]{1,256}$/, 'must be 1-256 letters, digits, "-" or "_"');
/** Consul's service identity names: lowercase DNS-like. */
const serviceIdentityName = z.string().max(256).regex(/^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/, 'must be lowercase letters, digits, "-" or "_", starting and ending with a letter or digit');
const nodeIdentityName = z.string().max(256).regex(/^[A-Za-z0-9]([A-Za-z0-9\-_]*[A-Za-z0-9])?$/, 'must be letters, digits, "-" or "_", starting and ending with a letter or digit');

const link = z.strictObject({ ID: z.string().optional(), Name: z.string().optional() });
const serviceIdentity = z.strictObject({ ServiceName: serviceIdentityName, Datacenters: z.array(z.string().min(1)).optional() });
const nodeIdentity = z.strictObject({ NodeName: nodeIdentityName, Datacenter: z.string().min(1, 'is required') });
/** Fields Consul sends back that a client may echo on update; read-only, ignored. */
const readOnly = { Hash: z.unknown().optional(), CreateIndex: z.unknown().optional(), ModifyIndex: z.unknown().optional() };

export const tokenBody = z.strictObject({
  AccessorID: uuid.optional(),
  SecretID: uuid.optional(),
  Description: z.string().optional(),
  Policies: z.array(link).nullish(),
  Roles: z.array(link).nullish(),
  ServiceIdentities: z.array(serviceIdentity).nullish(),
  NodeIdentities: z.array(nodeIdentity).nullish(),
  Local: z.boolean().optional(),
  ExpirationTime: z.string().optional(),
  ExpirationTTL: z.string().optional(),
  CreateTime: z.string().optional(),
  Namespace: z.string().optional(),
  Partition: z.string().optional(),
  ...readOnly,
});
export type TokenBody = z.output<typeof tokenBody>;

export const policyBody = z.strictObject({
  ID: uuid.optional(),
  Name: policyName,
  Description: z.string().optional(),
  Rules: z.string().optional(),
  Datacenters: z.array(z.string().min(1)).nullish(),
  Namespace: z.string().optional(),
  Partition: z.string().optional(),
  ...readOnly,
});
export type PolicyBody = z.output<typeof policyBody>;

export const roleBody = z.strictObject({
  ID: uuid.optional(),
  Name: roleName,
  Description: z.string().optional(),
  Policies: z.array(link).nullish(),
  ServiceIdentities: z.array(serviceIdentity).nullish(),
  NodeIdentities: z.array(nodeIdentity).nullish(),
  Namespace: z.string().optional(),
  Partition: z.string().optional(),
  ...readOnly,
});
export type RoleBody = z.output<typeof roleBody>;

function body<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  if (input === undefined || input === null) throw ValidationError.of('', 'a JSON body is required');
  return parseInput(schema, input);
}

export function parseTokenBody(input: unknown): TokenBody {
  return body(tokenBody, input);
}

export function parsePolicyBody(input: unknown): PolicyBody {
  const b = body(policyBody, input);
  parseRules(b.Rules ?? '');
  return b;
}

export function parseRoleBody(input: unknown): RoleBody {
  return body(roleBody, input);
}

/** ExpirationTime for a new token: from a TTL or an absolute time (never both), after `now`. */
export function expirationOf(b: TokenBody, now: Date): string | undefined {
  if (b.ExpirationTTL !== undefined && b.ExpirationTime !== undefined) throw ValidationError.of('ExpirationTTL', 'cannot be set together with ExpirationTime');
  if (b.ExpirationTTL !== undefined) {
    const ms = parseDuration('ExpirationTTL', b.ExpirationTTL);
    if (ms <= 0) throw ValidationError.of('ExpirationTTL', 'must be positive');
    return new Date(now.getTime() + ms).toISOString();
  }
  if (b.ExpirationTime !== undefined) {
    const t = Date.parse(b.ExpirationTime);
    if (Number.isNaN(t)) throw ValidationError.of('ExpirationTime', 'must be an RFC 3339 time');
    if (t <= now.getTime()) throw ValidationError.of('ExpirationTime', 'must be in the future');
    return new Date(t).toISOString();
  }
  return undefined;
}

export function newId(): string {
  return randomUUID();
}

/** The stub `GET /v1/acl/tokens` lists (Consul's ACLTokenListEntry). */
export function tokenStub(t: AclToken, showSecret: boolean): Record<string, unknown> {
  return {
    AccessorID: t.AccessorID,
    SecretID: showSecret ? t.SecretID : REDACTED,
    Description: t.Description,
    Policies: t.Policies,
    Roles: t.Roles,
    ServiceIdentities: t.ServiceIdentities,
    NodeIdentities: t.NodeIdentities,
    Local: t.Local,
    ...(t.ExpirationTime ? { ExpirationTime: t.ExpirationTime } : {}),
    CreateTime: t.CreateTime,
    Hash: t.Hash,
    CreateIndex: t.CreateIndex,
    ModifyIndex: t.ModifyIndex,
    Legacy: false,
  };
}

/** What Consul shows instead of a SecretID to a caller without acl:write (structs.RedactedToken). */
export const REDACTED = '<hidden>';
