// /v1/config: config entries (every kind), with check-and-set. ACLs per kind, as Consul's
// ConfigEntry CanRead/CanWrite: see ENTRY_ACL; lists show the entries the token may read.
import type { Resource } from '../acl/authorizer.js';
import type { Catalog } from '../catalog/catalog.js';
import { checkKind, type ConfigKind } from '../catalog/config/kinds.js';
import { aclOf, FILTERED, inHandler, markFiltered, visible } from './acl-guard.js';
import { NotFoundError } from '../core/errors.js';
import { blockingRead, indexed } from './blocking.js';
import { casParam } from './params.js';
import type { ApiResponse, RequestAcl, Route } from './route.js';

/**
 * What reading and writing an entry of each kind needs, on the entry's name (Consul 1.14):
 * service-level kinds service:read / service:write, service-intentions intentions:read / write,
 * gateways service:read / operator:write, the mesh-wide kinds nothing / mesh:write (which follows
 * operator when the token has no mesh rule).
 */
const ENTRY_ACL: Readonly<Record<ConfigKind, { readonly read?: Resource; readonly write: Resource }>> = {
  'proxy-defaults': { write: 'mesh' },
  mesh: { write: 'mesh' },
  'service-defaults': { read: 'service', write: 'service' },
  'service-router': { read: 'service', write: 'service' },
  'service-splitter': { read: 'service', write: 'service' },
  'service-resolver': { read: 'service', write: 'service' },
  'service-intentions': { read: 'intention', write: 'intention' },
  'ingress-gateway': { read: 'service', write: 'operator' },
  'terminating-gateway': { read: 'service', write: 'operator' },
};

const SEGMENTED_RESOURCES: ReadonlySet<Resource> = new Set(['service', 'intention']);

/** Whether the token may read the entry. */
export function mayReadEntry(acl: RequestAcl, entry: { readonly Kind: string; readonly Name: string }): boolean {
  const resource = ENTRY_ACL[entry.Kind as ConfigKind]?.read;
  return resource === undefined || acl.allows(resource, 'read', entry.Name);
}

/** Throws Consul's 403 unless the token may write (or delete) the entry. */
export function requireEntryWrite(acl: RequestAcl, entry: { readonly Kind: string; readonly Name: string }): void {
  const resource = ENTRY_ACL[entry.Kind as ConfigKind]?.write ?? 'operator';
  acl.require(resource, 'write', SEGMENTED_RESOURCES.has(resource) ? entry.Name : undefined);
}

const ENTRY_READ = inHandler('per kind: service:read (service-*, gateways) or intentions:read (service-intentions) on the name; nothing for proxy-defaults and mesh');
const ENTRY_WRITE = inHandler('per kind: service:write (service-*) or intentions:write (service-intentions) on the name; operator:write (gateways); mesh:write (proxy-defaults, mesh)');

/**
 * A write's answer, with the index of config entries after it as X-Consul-Index: a secondary that
 * forwarded the write waits until replication has brought it that far before it answers.
 */
export function written(catalog: Catalog, body: unknown): ApiResponse {
  return { body, headers: { 'X-Consul-Index': String(catalog.configIndex()) } };
}

export function configRoutes(catalog: Catalog): Route[] {
  return [
    {
      method: 'PUT',
      pattern: '/v1/config',
      maxBodyBytes: 'configured',
      acl: ENTRY_WRITE,
      handler: async (req) => written(catalog, await catalog.setConfigEntry(req.body, casParam(req), (entry) => requireEntryWrite(aclOf(req), entry))),
    },
    {
      method: 'GET',
      pattern: '/v1/config/:kind',
      acl: FILTERED,
      handler: async (req) => {
        const r = await blockingRead(req, catalog.configEntries(checkKind(req.params.kind, 'kind')));
        const { items, hidden } = visible(req, r.value, mayReadEntry);
        return markFiltered(req, indexed(r, items), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/config/:kind/:name',
      acl: ENTRY_READ,
      handler: async (req) => {
        const kind = checkKind(req.params.kind, 'kind');
        const name = req.params.name as string;
        const readAs = ENTRY_ACL[kind].read;
        if (readAs) aclOf(req).require(readAs, 'read', name);
        const r = await blockingRead(req, catalog.configEntry(kind, name));
        if (!r.value) throw new NotFoundError(`Config entry not found for "${kind}" / "${name}"`);
        return indexed(r);
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/config/:kind/:name',
      acl: ENTRY_WRITE,
      handler: async (req) => (requireEntryWrite(aclOf(req), { Kind: checkKind(req.params.kind, 'kind'), Name: req.params.name as string }), written(catalog, await catalog.deleteConfigEntry(req.params.kind as string, req.params.name as string, casParam(req)))),
    },
  ];
}
