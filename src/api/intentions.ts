// /v1/connect/intentions: the legacy intentions API over service-intentions config entries.
import type { Catalog } from '../catalog/catalog.js';
import { serviceNameOrWildcard } from '../catalog/config/common.js';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { DEFAULT_NAMESPACE } from '../core/names.js';
import { parseInput } from '../core/validate.js';
import { blockingRead, indexed } from './blocking.js';
import { written } from './config.js';
import { required } from './params.js';
import type { ApiRequest, Route } from './route.js';

/** A source or destination name in a legacy create body. */
function nameField(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw ValidationError.of(field, 'is required');
  return parseInput(serviceNameOrWildcard, value, field);
}

function byId<T extends { readonly ID: string }>(intentions: readonly T[], id: string): T {
  const found = intentions.find((i) => i.ID === id);
  if (!found) throw new NotFoundError(`Intention not found: ${id}`);
  return found;
}

/**
 * A `?source=` or `?destination=` name. Consul's clients may prefix it with its namespace
 * (`default/web`); the default namespace is the only one here.
 */
function nameParam(req: ApiRequest, field: 'source' | 'destination'): string {
  const raw = required(req, field);
  const slash = raw.indexOf('/');
  if (slash >= 0 && raw.slice(0, slash) !== DEFAULT_NAMESPACE) throw ValidationError.of(field, `namespace "${raw.slice(0, slash)}" is not supported (namespaces are a Consul Enterprise feature); use "${raw.slice(slash + 1)}" or "${DEFAULT_NAMESPACE}/${raw.slice(slash + 1)}"`);
  return parseInput(serviceNameOrWildcard, slash >= 0 ? raw.slice(slash + 1) : raw, field);
}

function pair(req: ApiRequest): { source: string; destination: string } {
  return { source: nameParam(req, 'source'), destination: nameParam(req, 'destination') };
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** An intention ID from the path: a UUID, as Consul requires. */
function idParam(req: ApiRequest): string {
  const id = req.params.id as string;
  if (!UUID.test(id)) throw ValidationError.of('id', `must be a UUID, got "${id}"`);
  return id;
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
      method: 'POST',
      pattern: '/v1/connect/intentions',
      // The legacy create: refuses an existing source -> destination pair; answers the new ID.
      handler: async (req) => {
        const body = req.body as { SourceName?: unknown; DestinationName?: unknown } | undefined;
        const source = nameField(body?.SourceName, 'SourceName');
        const destination = nameField(body?.DestinationName, 'DestinationName');
        const id = randomUUID();
        await catalog.putIntention(source, destination, req.body, { createId: id });
        return written(catalog, { ID: id });
      },
    },
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/match',
      // Consul's match: per name, the intentions whose source (or destination) it is, `*` included, highest precedence first.
      handler: async (req) => {
        const by = required(req, 'by');
        if (by !== 'source' && by !== 'destination') throw ValidationError.of('by', `must be "source" or "destination", got "${by}"`);
        const names = req.query.getAll('name');
        if (names.length === 0) throw ValidationError.of('name', 'is required (repeat it for several)');
        const r = await blockingRead(req, catalog.intentions());
        const field = by === 'source' ? 'SourceName' : 'DestinationName';
        return indexed(r, Object.fromEntries(names.map((n) => [n, r.value.filter((i) => i[field] === n || i[field] === '*')])));
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
    // By ID, after the literal paths above (routes match in order).
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/:id',
      handler: async (req) => {
        const id = idParam(req);
        const r = await blockingRead(req, catalog.intentions());
        return indexed(r, byId(r.value, id));
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/connect/intentions/:id',
      // The legacy update: the body's source, destination and action replace the intention's, its ID kept.
      handler: async (req) => {
        const id = idParam(req);
        if (!(await catalog.updateIntention(id, req.body))) throw new NotFoundError(`Intention not found: ${id}`);
        return written(catalog, true);
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/connect/intentions/:id',
      handler: async (req) => {
        const found = byId((await firstValueFrom(catalog.intentions())).value, idParam(req));
        await catalog.deleteIntention(found.SourceName, found.DestinationName);
        return written(catalog, true);
      },
    },
  ];
}
