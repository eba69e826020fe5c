// /v1/catalog/* and /v1/health/*: reads across the catalog, all blocking.
import type { Catalog } from '../catalog/catalog.js';
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
      handler: async (req) => indexed(await blockingRead(req, catalog.catalogServices())),
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/service/:name',
      handler: async (req) => {
        const tags = tagsParam(req);
        const r = await blockingRead(req, catalog.serviceNodes(req.params.name as string));
        return indexed(r, r.value.filter((c) => !tags || tags.every((t) => c.Service.Tags.includes(t))).map(catalogService));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/nodes',
      handler: async (req) => {
        const r = await blockingRead(req, catalog.nodes());
        return indexed(r, r.value.map(catalogNode));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/node/:node',
      // Consul answers null (200) for a node it does not know.
      handler: async (req) => {
        const r = await blockingRead(req, catalog.nodeServices(req.params.node as string));
        const { node, services } = r.value;
        return indexed(r, node ? { Node: catalogNode(node), Services: Object.fromEntries(services.map((s) => [s.ID, agentService(s)])) } : null);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/node/:node',
      handler: async (req) => indexed(await blockingRead(req, catalog.nodeChecks(req.params.node as string))),
    },
    {
      method: 'GET',
      pattern: '/v1/health/state/:state',
      handler: async (req) => {
        const state = req.params.state as string;
        if (!CHECK_STATES.includes(state)) throw ValidationError.of('state', `must be one of ${CHECK_STATES.join(', ')}, got "${state}"`);
        return indexed(await blockingRead(req, catalog.checksInState(state as HealthStatus | 'any')));
      },
    },
    ...(['service', 'connect'] as const).map(
      (what): Route => ({
        method: 'GET',
        pattern: `/v1/health/${what}/:name`,
        handler: async (req) => {
          const filter = { connect: what === 'connect', passing: flag(req, 'passing'), tags: tagsParam(req) };
          const r = await blockingRead(req, catalog.health(req.params.name as string, filter));
          return indexed(r, r.value.map(healthEntry));
        },
      }),
    ),
  ];
}
