// /v1/catalog/* and /v1/health/*: reads across the catalog, all blocking. ACLs as Consul's:
// registering needs node:write on the node and service:write on the service, deregistering
// service:write on the service (node:write for a node or a node check); reads answer only the
// nodes, services and checks the token may read (node:read, service:read), and say they filtered.
import type { Catalog, CatalogRegisterVet } from '../catalog/catalog.js';
import { firstValueFrom, type Observable } from 'rxjs';
import type { CheckWithTags } from '../catalog/queries.js';
import type { CheckServiceNode, HealthStatus } from '../catalog/types.js';
import { aclOf, FILTERED, inHandler, markFiltered, mayRead, need, vetServiceWrite, visible } from './acl-guard.js';
import type { RequestAcl } from './route.js';
import { ValidationError } from '../core/errors.js';
import { blockingRead, indexed, type Indexed } from './blocking.js';
import { filterParam, nodeMetaParam } from './filter.js';
import { flag, tagsParam } from './params.js';
import { REGISTRATION_BODY_BYTES, type ApiRequest, type ApiResponse, type Route } from './route.js';
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
      // Each name with the union of its instances' tags, over the instances the filters keep.
      handler: async (req) => {
        const keep = instanceFilter(req);
        const r = await blockingRead(req, catalog.allServiceNodes());
        const { items, hidden } = visible(req, r.value.filter(keep), (acl, c) => acl.allows('service', 'read', c.Service.Service));
        const tags = new Map<string, Set<string>>();
        for (const c of items) {
          const set = tags.get(c.Service.Service) ?? new Set<string>();
          for (const t of c.Service.Tags) set.add(t);
          tags.set(c.Service.Service, set);
        }
        return markFiltered(req, indexed(r, Object.fromEntries([...tags].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, set]) => [name, [...set].sort()]))), hidden);
      },
    },
    ...(['service', 'connect'] as const).map(
      (what): Route => ({
        method: 'GET',
        pattern: `/v1/catalog/${what}/:name`,
        acl: FILTERED,
        handler: async (req) => {
          const tags = tagsParam(req);
          const keep = instanceFilter(req);
          const r = await blockingRead(req, catalog.serviceNodes(req.params.name as string, { connect: what === 'connect' }));
          const { items, hidden } = visible(req, r.value, mayRead.instance);
          return markFiltered(req, indexed(r, items.filter((c) => (!tags || tags.every((t) => c.Service.Tags.includes(t))) && keep(c)).map(catalogService)), hidden);
        },
      }),
    ),
    {
      method: 'GET',
      pattern: '/v1/catalog/gateway-services/:gateway',
      // Consul's rule: service:read on the gateway.
      acl: need('service', 'read', (req) => req.params.gateway as string),
      handler: async (req) => indexed(await blockingRead(req, catalog.gatewayServices(req.params.gateway as string))),
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/nodes',
      acl: FILTERED,
      handler: async (req) => {
        const filter = filterParam(req);
        const meta = nodeMetaParam(req);
        const r = await blockingRead(req, catalog.nodes());
        const { items, hidden } = visible(req, r.value.filter((n) => meta(n.Meta)), mayRead.node);
        return markFiltered(req, indexed(r, items.map(catalogNode).filter(filter)), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/node/:node',
      acl: FILTERED,
      // Consul answers null (200) for a node it does not know, and for one the token may not read;
      // ?filter= selects among its services.
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.nodeServices(req.params.node as string));
        const { node } = r.value;
        const hiddenNode = node !== undefined && !aclOf(req).allows('node', 'read', node.Node);
        const { items, hidden } = visible(req, hiddenNode ? [] : r.value.services, mayRead.service);
        const body = node && !hiddenNode ? { Node: catalogNode(node), Services: Object.fromEntries(items.map((s) => [s.ID, agentService(s)]).filter(([, s]) => filter(s))) } : null;
        return markFiltered(req, indexed(r, body), hiddenNode || hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/node/:node',
      acl: FILTERED,
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.nodeChecks(req.params.node as string));
        const { items, hidden } = visible(req, r.value.filter(filter), mayRead.check);
        return markFiltered(req, indexed(r, items), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/checks/:service',
      acl: FILTERED,
      handler: async (req) => checksAnswer(req, catalog, catalog.serviceChecks(req.params.service as string)),
    },
    {
      method: 'GET',
      pattern: '/v1/health/state/:state',
      acl: FILTERED,
      handler: async (req) => {
        const state = req.params.state as string;
        if (!CHECK_STATES.includes(state)) throw ValidationError.of('state', `must be one of ${CHECK_STATES.join(', ')}, got "${state}"`);
        return checksAnswer(req, catalog, catalog.checksInState(state as HealthStatus | 'any'));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/ingress/:name',
      // The gateways in front of a service: service:read on it, then filtered to the gateways the token may read.
      acl: need('service', 'read', (req) => req.params.name as string),
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.ingressHealth(req.params.name as string, { passing: flag(req, 'passing') }));
        const { items, hidden } = visible(req, r.value, mayRead.instance);
        return markFiltered(req, indexed(r, items.map(healthEntry).filter(filter)), hidden);
      },
    },
    ...(['service', 'connect'] as const).map(
      (what): Route => ({
        method: 'GET',
        pattern: `/v1/health/${what}/:name`,
        acl: FILTERED,
        handler: async (req) => {
          const filter = filterParam(req);
          const meta = nodeMetaParam(req);
          const opts = { connect: what === 'connect', passing: flag(req, 'passing'), tags: tagsParam(req) };
          const r = await blockingRead(req, catalog.health(req.params.name as string, opts));
          const { items, hidden } = visible(req, r.value.filter((c) => meta(c.Node.Meta)), mayRead.instance);
          return markFiltered(req, indexed(r, items.map(healthEntry).filter(filter)), hidden);
        },
      }),
    ),
  ];
}

/** `?filter=` (over Consul's CatalogService shape) and `?node-meta=` for service instances. */
function instanceFilter(req: ApiRequest): (c: CheckServiceNode) => boolean {
  const filter = filterParam(req);
  const meta = nodeMetaParam(req);
  return (c) => meta(c.Node.Meta) && filter(catalogService(c));
}

/** Checks the token may read, filtered by `?filter=` and by their nodes' Meta (`?node-meta=`). */
async function checksAnswer(req: ApiRequest, catalog: Catalog, source: Observable<Indexed<CheckWithTags[]>>): Promise<ApiResponse> {
  const filter = filterParam(req);
  const meta = nodeMetaParam(req);
  const r = await blockingRead(req, source);
  const nodeMeta = req.query.has('node-meta') ? new Map((await firstValueFrom(catalog.nodes())).value.map((n) => [n.Node, n.Meta])) : undefined;
  const { items, hidden } = visible(req, r.value.filter((c) => (!nodeMeta || meta(nodeMeta.get(c.Node))) && filter(c)), mayRead.check);
  return markFiltered(req, indexed(r, items), hidden);
}

/** Consul's rule for /v1/catalog/register and /deregister (vetRegisterWithACL, vetDeregisterWithACL). */
function catalogVet(acl: RequestAcl): CatalogRegisterVet {
  const service = vetServiceWrite(acl);
  return { node: (node) => acl.require('node', 'write', node), service: (s, replaced) => service(s, replaced) };
}
