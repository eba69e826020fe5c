// /v1/catalog/* and /v1/health/*: reads across the catalog, all blocking. ACLs as Consul's:
// registering needs node:write on the node and service:write on the service, deregistering
// service:write on the service (node:write for a node or a node check); reads answer only the
// nodes, services and checks the token may read (node:read, service:read), and say they filtered.
import type { CatalogRegisterVet } from '../catalog/catalog.js';
import type { RequestAcl } from './route.js';
import { aclOf, FILTERED, inHandler, markFiltered, mayRead, vetServiceWrite, visible } from './acl-guard.js';import type { Catalog } from '../catalog/catalog.js';
import type { HealthStatus } from '../catalog/types.js';
import { ValidationError } from '../core/errors.js';
import { blockingRead, indexed } from './blocking.js';
import { flag, tagsParam } from './params.js';
import { REGISTRATION_BODY_BYTES, type Route } from './route.js';
import { agentService, catalogNode, catalogService, healthEntry } from './shapes.js';

/** What /v1/health/state/:state takes, as Consul. */
const CHECK_STATES = ['any', 'passing', 'warning', 'critical'];

export function catalogRoutes(catalog: Catalog): Route[] {
  return [
    ...(['register', 'deregister'] as const).map(
      (verb): Route => ({
        method: 'PUT',
        pattern: `/v1/catalog/${verb}`,
        maxBodyBytes: REGISTRATION_BODY_BYTES,
        acl: inHandler(verb === 'register' ? 'node:write on the node, service:write on the service (and a connect-proxy\'s destination)' : 'service:write on the service or its check, node:write on the node or a node check'),
        // Consul answers `true`.
        handler: async (req) => {
          const vet = catalogVet(aclOf(req));
          await (verb === 'register' ? catalog.catalogRegister(req.body, vet) : catalog.catalogDeregister(req.body, vet));
          return { body: true };
        },
      }),
    ),
    {
      method: 'GET',
      pattern: '/v1/catalog/services',
      acl: FILTERED,
      handler: async (req) => {
        const r = await blockingRead(req, catalog.catalogServices());
        const { items, hidden } = visible(req, Object.entries(r.value), (acl, [name]) => acl.allows('service', 'read', name));
        return markFiltered(req, indexed(r, Object.fromEntries(items)), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/service/:name',
      acl: FILTERED,
      handler: async (req) => {
        const tags = tagsParam(req);
        const r = await blockingRead(req, catalog.serviceNodes(req.params.name as string));
        const { items, hidden } = visible(req, r.value, mayRead.instance);
        return markFiltered(req, indexed(r, items.filter((c) => !tags || tags.every((t) => c.Service.Tags.includes(t))).map(catalogService)), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/nodes',
      acl: FILTERED,
      handler: async (req) => {
        const r = await blockingRead(req, catalog.nodes());
        const { items, hidden } = visible(req, r.value, mayRead.node);
        return markFiltered(req, indexed(r, items.map(catalogNode)), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/node/:node',
      acl: FILTERED,
      // Consul answers null (200) for a node it does not know, and for one the token may not read.
      handler: async (req) => {
        const r = await blockingRead(req, catalog.nodeServices(req.params.node as string));
        const { node } = r.value;
        const hiddenNode = node !== undefined && !aclOf(req).allows('node', 'read', node.Node);
        const { items, hidden } = visible(req, hiddenNode ? [] : r.value.services, mayRead.service);
        const body = node && !hiddenNode ? { Node: catalogNode(node), Services: Object.fromEntries(items.map((s) => [s.ID, agentService(s)])) } : null;
        return markFiltered(req, indexed(r, body), hiddenNode || hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/node/:node',
      acl: FILTERED,
      handler: async (req) => {
        const r = await blockingRead(req, catalog.nodeChecks(req.params.node as string));
        const { items, hidden } = visible(req, r.value, mayRead.check);
        return markFiltered(req, indexed(r, items), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/state/:state',
      acl: FILTERED,
      handler: async (req) => {
        const state = req.params.state as string;
        if (!CHECK_STATES.includes(state)) throw ValidationError.of('state', `must be one of ${CHECK_STATES.join(', ')}, got "${state}"`);
        const r = await blockingRead(req, catalog.checksInState(state as HealthStatus | 'any'));
        const { items, hidden } = visible(req, r.value, mayRead.check);
        return markFiltered(req, indexed(r, items), hidden);
      },
    },
    ...(['service', 'connect'] as const).map(
      (what): Route => ({
        method: 'GET',
        pattern: `/v1/health/${what}/:name`,
        acl: FILTERED,
        handler: async (req) => {
          const filter = { connect: what === 'connect', passing: flag(req, 'passing'), tags: tagsParam(req) };
          const r = await blockingRead(req, catalog.health(req.params.name as string, filter));
          const { items, hidden } = visible(req, r.value, mayRead.instance);
          return markFiltered(req, indexed(r, items.map(healthEntry)), hidden);
        },
      }),
    ),
  ];
}

/** Consul's rule for /v1/catalog/register and /deregister (vetRegisterWithACL, vetDeregisterWithACL). */
function catalogVet(acl: RequestAcl): CatalogRegisterVet {
  const service = vetServiceWrite(acl);
  return { node: (node) => acl.require('node', 'write', node), service: (s, replaced) => service(s, replaced) };
}
