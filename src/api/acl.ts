// /v1/acl/*: bootstrap, tokens, policies and roles in Consul's shapes. With ACLs enabled reads need
// acl:read and writes acl:write (token/self needs only a valid token); SecretIDs are shown only to
// callers with acl:write (Consul's redaction), and never logged.
import type { AclStore } from '../acl/acl-store.js';
import { tokenStub, REDACTED, type AclToken } from '../acl/model.js';
import { NotFoundError, PermissionDeniedError } from '../core/errors.js';
import { aclOf, allowed, authorize, need, open, requestToken, type AclGuard } from './acl-guard.js';
import type { ApiRequest, ApiResponse, Route } from './route.js';

export interface AclRouteDeps {
  readonly acls: AclStore;
  readonly guard: AclGuard;
}

/** Consul's answer to ACL-only endpoints when ACLs are disabled. */
const ACL_DISABLED: ApiResponse = { status: 401, text: 'ACL support disabled\n' };

export function aclRoutes({ acls, guard }: AclRouteDeps): Route[] {
  const read = (req: ApiRequest) => authorize(guard, req, 'acl', 'read');
  const write = (req: ApiRequest) => authorize(guard, req, 'acl', 'write');
  const reply = (body: unknown): ApiResponse => ({ body, headers: { 'X-Consul-Index': String(acls.index()), 'X-Consul-KnownLeader': 'true' } });
  const showToken = (req: ApiRequest, t: AclToken): AclToken => (allowed(guard, req, 'acl', 'write') ? t : { ...t, SecretID: REDACTED });
  const found = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new NotFoundError(what);
    return v;
  };
  return [
    {
      method: 'PUT',
      pattern: '/v1/acl/bootstrap',
      acl: open('once, before any token exists (then 403)'),
      handler: async () => {
        if (!guard.enabled) return ACL_DISABLED;
        return reply(await acls.bootstrap());
      },
    },
    { method: 'PUT', pattern: '/v1/acl/token', acl: need('acl', 'write'), handler: async (req) => (write(req), reply(await acls.putTokenBody(req.body))) },
    {
      method: 'GET',
      pattern: '/v1/acl/token/self',
      acl: open('any token reads itself (an unknown one is 403 "ACL not found")'),
      handler: (req) => {
        if (!guard.enabled) return ACL_DISABLED;
        // The token in effect: the request's, else acl.tokens.default (the anonymous token when neither).
        const t = guard.resolver.resolve(aclOf(req).secret ?? requestToken(req)).token;
        return reply(t);
      },
    },
    { method: 'GET', pattern: '/v1/acl/token/:accessor', acl: need('acl', 'read'), handler: (req) => (read(req), reply(showToken(req, found(acls.token(req.params.accessor!), 'ACL not found')))) },
    { method: 'PUT', pattern: '/v1/acl/token/:accessor', acl: need('acl', 'write'), handler: async (req) => (write(req), reply(await acls.putTokenBody(req.body, req.params.accessor!))) },
    {
      method: 'DELETE',
      pattern: '/v1/acl/token/:accessor',
      acl: need('acl', 'write'),
      handler: async (req) => {
        const me = write(req);
        if (me?.token.AccessorID === req.params.accessor) throw new PermissionDeniedError('Deletion of the request\'s authorization token is not permitted');
        await acls.deleteToken(req.params.accessor!);
        return reply(true);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/acl/tokens',
      acl: need('acl', 'read'),
      handler: (req) => {
        read(req);
        const show = allowed(guard, req, 'acl', 'write');
        const filter = { policy: req.query.get('policy') ?? undefined, role: req.query.get('role') ?? undefined };
        return reply(acls.tokens(filter).map((t) => tokenStub(t, show)));
      },
    },
    { method: 'PUT', pattern: '/v1/acl/policy', acl: need('acl', 'write'), handler: async (req) => (write(req), reply(await acls.putPolicyBody(req.body))), maxBodyBytes: 'configured' },
    { method: 'GET', pattern: '/v1/acl/policy/name/:name', acl: need('acl', 'read'), handler: (req) => (read(req), reply(found(acls.policyByName(req.params.name!), `ACL policy not found: ${req.params.name}`))) },
    { method: 'GET', pattern: '/v1/acl/policy/:id', acl: need('acl', 'read'), handler: (req) => (read(req), reply(found(acls.policy(req.params.id!), `ACL policy not found: ${req.params.id}`))) },
    { method: 'PUT', pattern: '/v1/acl/policy/:id', acl: need('acl', 'write'), handler: async (req) => (write(req), reply(await acls.putPolicyBody(req.body, req.params.id!))), maxBodyBytes: 'configured' },
    { method: 'DELETE', pattern: '/v1/acl/policy/:id', acl: need('acl', 'write'), handler: async (req) => (write(req), await acls.deletePolicy(req.params.id!), reply(true)) },
    {
      method: 'GET',
      pattern: '/v1/acl/policies',
      acl: need('acl', 'read'),
      handler: (req) => (read(req), reply(acls.policies().map(({ Rules: _r, ...stub }) => stub))),
    },
    { method: 'PUT', pattern: '/v1/acl/role', acl: need('acl', 'write'), handler: async (req) => (write(req), reply(await acls.putRoleBody(req.body))) },
    { method: 'GET', pattern: '/v1/acl/role/name/:name', acl: need('acl', 'read'), handler: (req) => (read(req), reply(found(acls.roleByName(req.params.name!), `ACL role not found: ${req.params.name}`))) },
    { method: 'GET', pattern: '/v1/acl/role/:id', acl: need('acl', 'read'), handler: (req) => (read(req), reply(found(acls.role(req.params.id!), `ACL role not found: ${req.params.id}`))) },
    { method: 'PUT', pattern: '/v1/acl/role/:id', acl: need('acl', 'write'), handler: async (req) => (write(req), reply(await acls.putRoleBody(req.body, req.params.id!))) },
    { method: 'DELETE', pattern: '/v1/acl/role/:id', acl: need('acl', 'write'), handler: async (req) => (write(req), await acls.deleteRole(req.params.id!), reply(true)) },
    { method: 'GET', pattern: '/v1/acl/roles', acl: need('acl', 'read'), handler: (req) => (read(req), reply(acls.roles())) },
  ];
}
