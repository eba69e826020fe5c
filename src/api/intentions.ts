// /v1/connect/intentions: the legacy intentions API over service-intentions config entries.
import type { Catalog } from '../catalog/catalog.js';
import { serviceNameOrWildcard } from '../catalog/config/common.js';
import { NotFoundError } from '../core/errors.js';
import { parseInput } from '../core/validate.js';
import { blockingRead, indexed } from './blocking.js';
import { written } from './config.js';
import { required } from './params.js';
import type { ApiRequest, Route } from './route.js';

function pair(req: ApiRequest): { source: string; destination: string } {
  const source = required(req, 'source');
  const destination = required(req, 'destination');
  parseInput(serviceNameOrWildcard, source, 'source');
  parseInput(serviceNameOrWildcard, destination, 'destination');
  return { source, destination };
}

export function intentionRoutes(catalog: Catalog): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/connect/intentions',
      handler: async (req) => indexed(await blockingRead(req, catalog.intentions())),
    },
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/exact',
      handler: async (req) => {
        const { source, destination } = pair(req);
        const r = await blockingRead(req, catalog.intentionsTo(destination));
        const found = r.value.find((i) => i.SourceName === source && i.DestinationName === destination);
        if (!found) throw new NotFoundError(`Intention not found for ${source} => ${destination}`);
        return indexed(r, found);
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/connect/intentions/exact',
      handler: async (req) => {
        const { source, destination } = pair(req);
        await catalog.putIntention(source, destination, req.body);
        return written(catalog, true);
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/connect/intentions/exact',
      handler: async (req) => {
        const { source, destination } = pair(req);
        await catalog.deleteIntention(source, destination);
        return written(catalog, true);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/check',
      handler: (req) => {
        const { source, destination } = pair(req);
        return { body: { Allowed: catalog.check(source, destination).Allowed } };
      },
    },
  ];
}
