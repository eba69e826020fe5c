// /v1/catalog/* and /v1/health/*: reads across the catalog, all blocking.
import type { Catalog } from '../catalog/catalog.js';
import { firstValueFrom, type Observable } from 'rxjs';
import type { CheckWithTags } from '../catalog/queries.js';
import type { CheckServiceNode, HealthStatus } from '../catalog/types.js';
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
        // Consul answers `true`.
        handler: async (req) => {
          await (verb === 'register' ? catalog.catalogRegister(req.body) : catalog.catalogDeregister(req.body));
          return { body: true };
        },
      }),
    ),
    {
      method: 'GET',
      pattern: '/v1/catalog/services',
      // Each name with the union of its instances' tags, over the instances the filters keep.
      handler: async (req) => {
        const keep = instanceFilter(req);
        const r = await blockingRead(req, catalog.allServiceNodes());
        const tags = new Map<string, Set<string>>();
        for (const c of r.value.filter(keep)) {
          const set = tags.get(c.Service.Service) ?? new Set<string>();
          for (const t of c.Service.Tags) set.add(t);
          tags.set(c.Service.Service, set);
        }
        return indexed(r, Object.fromEntries([...tags].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, set]) => [name, [...set].sort()])));
      },
    },
    ...(['service', 'connect'] as const).map(
      (what): Route => ({
        method: 'GET',
        pattern: `/v1/catalog/${what}/:name`,
        handler: async (req) => {
          const tags = tagsParam(req);
          const keep = instanceFilter(req);
          const r = await blockingRead(req, catalog.serviceNodes(req.params.name as string, { connect: what === 'connect' }));
          return indexed(r, r.value.filter((c) => (!tags || tags.every((t) => c.Service.Tags.includes(t))) && keep(c)).map(catalogService));
        },
      }),
    ),
    {
      method: 'GET',
      pattern: '/v1/catalog/gateway-services/:gateway',
      handler: async (req) => indexed(await blockingRead(req, catalog.gatewayServices(req.params.gateway as string))),
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/nodes',
      handler: async (req) => {
        const filter = filterParam(req);
        const meta = nodeMetaParam(req);
        const r = await blockingRead(req, catalog.nodes());
        return indexed(r, r.value.filter((n) => meta(n.Meta)).map(catalogNode).filter(filter));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/node/:node',
      // Consul answers null (200) for a node it does not know; ?filter= selects among its services.
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.nodeServices(req.params.node as string));
        const { node, services } = r.value;
        return indexed(r, node ? { Node: catalogNode(node), Services: Object.fromEntries(services.map((s) => [s.ID, agentService(s)]).filter(([, s]) => filter(s))) } : null);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/node/:node',
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.nodeChecks(req.params.node as string));
        return indexed(r, r.value.filter(filter));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/checks/:service',
      handler: async (req) => checksAnswer(req, catalog, catalog.serviceChecks(req.params.service as string)),
    },
    {
      method: 'GET',
      pattern: '/v1/health/state/:state',
      handler: async (req) => {
        const state = req.params.state as string;
        if (!CHECK_STATES.includes(state)) throw ValidationError.of('state', `must be one of ${CHECK_STATES.join(', ')}, got "${state}"`);
        return checksAnswer(req, catalog, catalog.checksInState(state as HealthStatus | 'any'));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/ingress/:name',
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.ingressHealth(req.params.name as string, { passing: flag(req, 'passing') }));
        return indexed(r, r.value.map(healthEntry).filter(filter));
      },
    },
    ...(['service', 'connect'] as const).map(
      (what): Route => ({
        method: 'GET',
        pattern: `/v1/health/${what}/:name`,
        handler: async (req) => {
          const filter = filterParam(req);
          const meta = nodeMetaParam(req);
          const opts = { connect: what === 'connect', passing: flag(req, 'passing'), tags: tagsParam(req) };
          const r = await blockingRead(req, catalog.health(req.params.name as string, opts));
          return indexed(r, r.value.filter((c) => meta(c.Node.Meta)).map(healthEntry).filter(filter));
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

/** Checks, filtered by `?filter=` and by their nodes' Meta (`?node-meta=`). */
async function checksAnswer(req: ApiRequest, catalog: Catalog, source: Observable<Indexed<CheckWithTags[]>>): Promise<ApiResponse> {
  const filter = filterParam(req);
  const meta = nodeMetaParam(req);
  const r = await blockingRead(req, source);
  const nodeMeta = req.query.has('node-meta') ? new Map((await firstValueFrom(catalog.nodes())).value.map((n) => [n.Node, n.Meta])) : undefined;
  return indexed(r, r.value.filter((c) => (!nodeMeta || meta(nodeMeta.get(c.Node))) && filter(c)));
}
