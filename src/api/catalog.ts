// /v1/catalog/* and /v1/health/*: reads across the catalog, all blocking.
import type { Catalog } from '../catalog/catalog.js';
import { blockingRead, indexed } from './blocking.js';
import { flag, tagsParam } from './params.js';
import type { Route } from './route.js';
import { catalogNode, catalogService, healthEntry } from './shapes.js';

export function catalogRoutes(catalog: Catalog): Route[] {
  return [
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
