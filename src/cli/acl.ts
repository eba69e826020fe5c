// `switchyard acl ...`: Consul's ACL commands (bootstrap, token create/list/read/delete, policy
// create/list/read/delete) as thin clients of /v1/acl, with Consul's flags and its plain-text
// output (or -format=json). The token comes from -token or $CONSUL_HTTP_TOKEN.
import { readFileSync } from 'node:fs';
import type { AclPolicy, AclToken, ServiceIdentity } from '../acl/model.js';
import { parseRules } from '../acl/rules.js';
import { errorMessage, ValidationError } from '../core/errors.js';
import type { Command, CommandIO } from './command.js';
import { flagsHelp, noArguments, parseFlags, type FlagSpecs, type ParsedFlags } from './flags.js';
import { ApiClient, DEFAULT_HTTP_ADDR, caFile } from './http-client.js';

const COMMON = {
  'http-addr': { type: 'string', help: 'Address of the agent HTTP API (or $CONSUL_HTTP_ADDR)' },
  token: { type: 'string', help: 'ACL token to use in the request (or $CONSUL_HTTP_TOKEN)' },
  format: { type: 'string', help: 'Output format: pretty or json (default pretty)' },
} as const;
type Common = typeof COMMON;

function aclCommand<S extends FlagSpecs>(name: string, summary: string, specs: S, body: (flags: ParsedFlags<S & Common>, api: ApiClient, out: Output) => Promise<void>): Command {
  const all = { ...COMMON, ...specs } as S & Common;
  return {
    name,
    summary,
    help: flagsHelp(all),
    async run(args, io) {
      const { flags, positional } = parseFlags(all, args);
      noArguments(positional);
      const format = (flags.format as string | undefined) ?? 'pretty';
      if (format !== 'pretty' && format !== 'json') throw ValidationError.of('-format', `must be pretty or json, got "${format}"`);
      const addr = (flags['http-addr'] as string | undefined) ?? io.env.CONSUL_HTTP_ADDR ?? DEFAULT_HTTP_ADDR;
      const token = (flags.token as string | undefined) ?? io.env.CONSUL_HTTP_TOKEN;
      await body(flags, new ApiClient(addr, token, { caFile: caFile(undefined, io.env) }), new Output(io, format === 'json'));
      return 0;
    },
  };
}

class Output {
  constructor(
    private readonly io: CommandIO,
    private readonly json: boolean,
  ) {}

  /** A reply as JSON, or as Consul's pretty text. */
  show<T>(value: T, pretty: (v: T) => string): void {
    this.io.stdout(this.json ? `${JSON.stringify(value, null, 4)}\n` : pretty(value));
  }

  list<T>(values: readonly T[], pretty: (v: T) => string): void {
    this.io.stdout(this.json ? `${JSON.stringify(values, null, 4)}\n` : values.map(pretty).join('\n'));
  }

  line(text: string): void {
    this.io.stdout(`${text}\n`);
  }
}

function prettyToken(t: AclToken): string {
  const lines = [`AccessorID:       ${t.AccessorID}`, `SecretID:         ${t.SecretID}`, `Description:      ${t.Description}`, `Local:            ${t.Local}`, `Create Time:      ${t.CreateTime}`];
  if (t.ExpirationTime) lines.push(`Expiration Time:  ${t.ExpirationTime}`);
  if (t.Policies.length) lines.push('Policies:', ...t.Policies.map((p) => `   ${p.ID} - ${p.Name}`));
  if (t.Roles.length) lines.push('Roles:', ...t.Roles.map((r) => `   ${r.ID} - ${r.Name}`));
  if (t.ServiceIdentities.length) lines.push('Service Identities:', ...t.ServiceIdentities.map((s) => `   ${s.ServiceName} (Datacenters: ${s.Datacenters?.length ? s.Datacenters.join(', ') : 'all'})`));
  if (t.NodeIdentities.length) lines.push('Node Identities:', ...t.NodeIdentities.map((n) => `   ${n.NodeName} (Datacenter: ${n.Datacenter})`));
  return `${lines.join('\n')}\n`;
}

function prettyPolicy(p: Partial<AclPolicy> & Pick<AclPolicy, 'ID' | 'Name'>): string {
  const lines = [`ID:           ${p.ID}`, `Name:         ${p.Name}`, `Description:  ${p.Description ?? ''}`, `Datacenters:  ${(p.Datacenters ?? []).join(', ')}`];
  if (p.Rules !== undefined) lines.push('Rules:', p.Rules);
  return `${lines.join('\n')}\n`;
}

/** `-service-identity web` or `web:dc1,dc2` (Consul's syntax). */
function serviceIdentity(raw: string, i: number): ServiceIdentity {
  const [name, dcs] = raw.split(':', 2);
  if (!name) throw ValidationError.of(`-service-identity[${i}]`, `"${raw}" must be NAME or NAME:DC1,DC2`);
  return dcs ? { ServiceName: name, Datacenters: dcs.split(',').filter(Boolean) } : { ServiceName: name };
}

/** `-node-identity node:dc` (Consul's syntax; the datacenter is required). */
function nodeIdentity(raw: string, i: number): { NodeName: string; Datacenter: string } {
  const [name, dc] = raw.split(':', 2);
  if (!name || !dc) throw ValidationError.of(`-node-identity[${i}]`, `"${raw}" must be NODE:DATACENTER`);
  return { NodeName: name, Datacenter: dc };
}

/** `-rules` as text or `@FILE`, parsed here first so a typo names its line before anything is sent. */
function rulesFlag(raw: string | undefined): string {
  if (raw === undefined) return '';
  let text = raw;
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw.slice(1), 'utf8');
    } catch (err) {
      throw ValidationError.of('-rules', `cannot read ${raw.slice(1)}: ${errorMessage(err)}`);
    }
  }
  try {
    parseRules(text);
  } catch (err) {
    throw ValidationError.of('-rules', errorMessage(err));
  }
  return text;
}

/** A policy's ID from -id or -name (Consul's policy read/delete). */
async function policyId(api: ApiClient, flags: { id?: string; name?: string }): Promise<string> {
  if (flags.id) return flags.id;
  if (flags.name) return (await api.get<AclPolicy>(`/v1/acl/policy/name/${encodeURIComponent(flags.name)}`)).ID;
  throw ValidationError.of('-id', 'is required (or -name)');
}

export const aclBootstrapCommand = aclCommand('acl bootstrap', 'Bootstrap the ACL system: create the initial management token', {}, async (_f, api, out) => {
  out.show(await api.put<AclToken>('/v1/acl/bootstrap'), prettyToken);
});

const tokenCreateSpecs = {
  description: { type: 'string', help: 'A description of the token' },
  'policy-id': { type: 'strings', help: 'ID of a policy to link (repeatable)' },
  'policy-name': { type: 'strings', help: 'Name of a policy to link (repeatable)' },
  'role-id': { type: 'strings', help: 'ID of a role to link (repeatable)' },
  'role-name': { type: 'strings', help: 'Name of a role to link (repeatable)' },
  'service-identity': { type: 'strings', help: 'A service identity, NAME or NAME:DC1,DC2 (repeatable)' },
  'node-identity': { type: 'strings', help: 'A node identity, NODE:DATACENTER (repeatable)' },
  local: { type: 'bool', help: 'Create a token local to this datacenter' },
  'expires-ttl': { type: 'string', help: 'Duration until the token expires (for example 1h)' },
  accessor: { type: 'string', help: 'The AccessorID to use (a UUID; generated by default)' },
  secret: { type: 'string', help: 'The SecretID to use (a UUID; generated by default)' },
} as const;

export const aclTokenCreateCommand = aclCommand('acl token create', 'Create an ACL token', tokenCreateSpecs, async (f, api, out) => {
  const body = {
    ...(f.accessor ? { AccessorID: f.accessor } : {}),
    ...(f.secret ? { SecretID: f.secret } : {}),
    Description: f.description ?? '',
    Policies: [...(f['policy-id'] ?? []).map((ID) => ({ ID })), ...(f['policy-name'] ?? []).map((Name) => ({ Name }))],
    Roles: [...(f['role-id'] ?? []).map((ID) => ({ ID })), ...(f['role-name'] ?? []).map((Name) => ({ Name }))],
    ServiceIdentities: (f['service-identity'] ?? []).map(serviceIdentity),
    NodeIdentities: (f['node-identity'] ?? []).map(nodeIdentity),
    Local: f.local ?? false,
    ...(f['expires-ttl'] ? { ExpirationTTL: f['expires-ttl'] } : {}),
  };
  out.show(await api.put<AclToken>('/v1/acl/token', body), prettyToken);
});

export const aclTokenListCommand = aclCommand('acl token list', 'List ACL tokens', {}, async (_f, api, out) => {
  out.list(await api.get<AclToken[]>('/v1/acl/tokens'), prettyToken);
});

const tokenReadSpecs = { id: { type: 'string', help: 'The AccessorID of the token' }, self: { type: 'bool', help: 'Read the token the request uses' } } as const;

export const aclTokenReadCommand = aclCommand('acl token read', 'Read an ACL token', tokenReadSpecs, async (f, api, out) => {
  if (f.self && f.id) throw ValidationError.of('-self', 'cannot be combined with -id');
  if (!f.self && !f.id) throw ValidationError.of('-id', 'is required (or -self)');
  out.show(await api.get<AclToken>(f.self ? '/v1/acl/token/self' : `/v1/acl/token/${encodeURIComponent(f.id!)}`), prettyToken);
});

export const aclTokenDeleteCommand = aclCommand('acl token delete', 'Delete an ACL token', { id: { type: 'string', help: 'The AccessorID of the token' } }, async (f, api, out) => {
  if (!f.id) throw ValidationError.of('-id', 'is required');
  await api.delete(`/v1/acl/token/${encodeURIComponent(f.id)}`);
  out.line(`Token "${f.id}" deleted successfully`);
});

const policyCreateSpecs = {
  name: { type: 'string', help: 'The policy name' },
  description: { type: 'string', help: 'A description of the policy' },
  rules: { type: 'string', help: 'The rules, as HCL or JSON text, or @FILE' },
  'valid-datacenter': { type: 'strings', help: 'A datacenter the policy applies in (repeatable; default all)' },
} as const;

export const aclPolicyCreateCommand = aclCommand('acl policy create', 'Create an ACL policy', policyCreateSpecs, async (f, api, out) => {
  if (!f.name) throw ValidationError.of('-name', 'is required');
  const body = { Name: f.name, Description: f.description ?? '', Rules: rulesFlag(f.rules), Datacenters: f['valid-datacenter'] ?? [] };
  out.show(await api.put<AclPolicy>('/v1/acl/policy', body), prettyPolicy);
});

export const aclPolicyListCommand = aclCommand('acl policy list', 'List ACL policies', {}, async (_f, api, out) => {
  out.list(await api.get<AclPolicy[]>('/v1/acl/policies'), (p) => `${p.Name}:\n${prettyPolicy(p).replace(/^/gm, '   ')}`);
});

const byIdOrName = { id: { type: 'string', help: 'The policy ID' }, name: { type: 'string', help: 'The policy name' } } as const;

export const aclPolicyReadCommand = aclCommand('acl policy read', 'Read an ACL policy', byIdOrName, async (f, api, out) => {
  out.show(await api.get<AclPolicy>(`/v1/acl/policy/${encodeURIComponent(await policyId(api, f))}`), prettyPolicy);
});

export const aclPolicyDeleteCommand = aclCommand('acl policy delete', 'Delete an ACL policy', byIdOrName, async (f, api, out) => {
  const id = await policyId(api, f);
  await api.delete(`/v1/acl/policy/${encodeURIComponent(id)}`);
  out.line(`Policy "${id}" deleted successfully`);
});

export const ACL_COMMANDS: readonly Command[] = [
  aclBootstrapCommand,
  aclTokenCreateCommand,
  aclTokenListCommand,
  aclTokenReadCommand,
  aclTokenDeleteCommand,
  aclPolicyCreateCommand,
  aclPolicyListCommand,
  aclPolicyReadCommand,
  aclPolicyDeleteCommand,
];
