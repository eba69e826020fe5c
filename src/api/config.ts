// /v1/config: config entries (every kind), with check-and-set.
import type { Catalog } from '../catalog/catalog.js';
import { checkKind } from '../catalog/config/kinds.js';
import { NotFoundError } from '../core/errors.js';
import { blockingRead, indexed } from './blocking.js';
import { casParam } from './params.js';
import type { ApiResponse, Route } from './route.js';

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
      handler: async (req) => written(catalog, await catalog.setConfigEntry(req.body, casParam(req))),
    },
    {
      method: 'GET',
      pattern: '/v1/config/:kind',
      handler: async (req) => indexed(await blockingRead(req, catalog.configEntries(checkKind(req.params.kind, 'kind')))),
    },
    {
      method: 'GET',
      pattern: '/v1/config/:kind/:name',
      handler: async (req) => {
        const kind = checkKind(req.params.kind, 'kind');
        const name = req.params.name as string;
        const r = await blockingRead(req, catalog.configEntry(kind, name));
        if (!r.value) throw new NotFoundError(`Config entry not found for "${kind}" / "${name}"`);
        return indexed(r);
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/config/:kind/:name',
      handler: async (req) => written(catalog, await catalog.deleteConfigEntry(req.params.kind as string, req.params.name as string, casParam(req))),
    },
  ];
}
