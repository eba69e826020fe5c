// /v1/connect/intentions: the legacy intentions API over service-intentions config entries. ACLs
// as Consul's: reading an intention needs intentions:read on its source or its destination, writing
// intentions:write on its destination, match intentions:read on each name, check service:read on
// the destination (it tells only allowed or not); the list shows what the token may read.
import type { RequestAcl } from './route.js';
import { aclOf, FILTERED, inHandler, markFiltered, need, visible } from './acl-guard.js';import type { Catalog } from '../catalog/catalog.js';
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

/** Consul's Intention.CanRead: intentions:read on either end, so both ends see why traffic flows or not. */
function mayReadIntention(acl: RequestAcl, i: { readonly SourceName: string; readonly DestinationName: string }): boolean {
  return acl.allows('intention', 'read', i.SourceName) || acl.allows('intention', 'read', i.DestinationName);
}

function requireRead(acl: RequestAcl, i: { readonly SourceName: string; readonly DestinationName: string }): void {
  if (!mayReadIntention(acl, i)) acl.require('intention', 'read', i.DestinationName);
}

const READ_ONE = inHandler('intentions:read on the source or the destination');
const WRITE_ONE = inHandler('intentions:write on the destination');

export function intentionRoutes(catalog: Catalog): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/connect/intentions',
      acl: FILTERED,
      handler: async (req) => {
        const r = await blockingRead(req, catalog.intentions());
        const { items, hidden } = visible(req, r.value, mayReadIntention);
        return markFiltered(req, indexed(r, items), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/exact',
      acl: READ_ONE,
      handler: async (req) => {
        const { source, destination } = pair(req);
        requireRead(aclOf(req), { SourceName: source, DestinationName: destination });
        const r = await blockingRead(req, catalog.intentionsTo(destination));
        const found = r.value.find((i) => i.SourceName === source && i.DestinationName === destination);
        if (!found) throw new NotFoundError(`Intention not found for ${source} => ${destination}`);
        return indexed(r, found);
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/connect/intentions/exact',
      acl: WRITE_ONE,
      handler: async (req) => {
        const { source, destination } = pair(req);
        aclOf(req).require('intention', 'write', destination);
        await catalog.putIntention(source, destination, req.body);
        return written(catalog, true);
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/connect/intentions/exact',
      acl: WRITE_ONE,
      handler: async (req) => {
        const { source, destination } = pair(req);
        aclOf(req).require('intention', 'write', destination);
        await catalog.deleteIntention(source, destination);
        return written(catalog, true);
      },
    },
    {
      method: 'POST',
      pattern: '/v1/connect/intentions',
      acl: WRITE_ONE,
      // The legacy create: refuses an existing source -> destination pair; answers the new ID.
      handler: async (req) => {
        const body = req.body as { SourceName?: unknown; DestinationName?: unknown } | undefined;
        const source = nameField(body?.SourceName, 'SourceName');
        const destination = nameField(body?.DestinationName, 'DestinationName');
        aclOf(req).require('intention', 'write', destination);
        const id = randomUUID();
        await catalog.putIntention(source, destination, req.body, { createId: id });
        return written(catalog, { ID: id });
      },
    },
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/match',
      acl: inHandler('intentions:read on each name'),
      // Consul's match: per name, the intentions whose source (or destination) it is, `*` included, highest precedence first.
      handler: async (req) => {
        const by = required(req, 'by');
        if (by !== 'source' && by !== 'destination') throw ValidationError.of('by', `must be "source" or "destination", got "${by}"`);
        const names = req.query.getAll('name');
        if (names.length === 0) throw ValidationError.of('name', 'is required (repeat it for several)');
        for (const n of names) aclOf(req).require('intention', 'read', n);
        const r = await blockingRead(req, catalog.intentions());
        const field = by === 'source' ? 'SourceName' : 'DestinationName';
        return indexed(r, Object.fromEntries(names.map((n) => [n, r.value.filter((i) => i[field] === n || i[field] === '*')])));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/check',
      acl: need('service', 'read', (req) => req.query.get('destination') ?? ''),
      handler: (req) => {
        const { source, destination } = pair(req);
        return { body: { Allowed: catalog.check(source, destination).Allowed } };
      },
    },
    // By ID, after the literal paths above (routes match in order).
    {
      method: 'GET',
      pattern: '/v1/connect/intentions/:id',
      acl: READ_ONE,
      handler: async (req) => {
        const id = idParam(req);
        const r = await blockingRead(req, catalog.intentions());
        const found = byId(r.value, id);
        requireRead(aclOf(req), found);
        return indexed(r, found);
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/connect/intentions/:id',
      acl: WRITE_ONE,
      // The legacy update: the body's source, destination and action replace the intention's, its ID kept.
      handler: async (req) => {
        const id = idParam(req);
        const found = byId((await firstValueFrom(catalog.intentions())).value, id);
        aclOf(req).require('intention', 'write', found.DestinationName);
        if (!(await catalog.updateIntention(id, req.body, (destination) => aclOf(req).require('intention', 'write', destination)))) throw new NotFoundError(`Intention not found: ${id}`);
        return written(catalog, true);
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/connect/intentions/:id',
      acl: WRITE_ONE,
      handler: async (req) => {
        const found = byId((await firstValueFrom(catalog.intentions())).value, idParam(req));
        aclOf(req).require('intention', 'write', found.DestinationName);
        await catalog.deleteIntention(found.SourceName, found.DestinationName);
        return written(catalog, true);
      },
    },
  ];
}
