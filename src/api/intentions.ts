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

function pair(req: ApiRequest): { source: string; destination: string } {
  const source = required(req, 'source');
  const destination = required(req, 'destination');
  parseInput(serviceNameOrWildcard, source, 'source');
  parseInput(serviceNameOrWildcard, destination, 'destination');
  return { source, destination };
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
        const r = await blockingRead(req, catalog.intentions());
        const found = byId(r.value, req.params.id as string);
        requireRead(aclOf(req), found);
        return indexed(r, found);
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/connect/intentions/:id',
      acl: WRITE_ONE,
      // The legacy update (the Go client's IntentionUpdate, the CLI's `intention create -replace`).
      handler: async (req) => {
        const found = byId((await firstValueFrom(catalog.intentions())).value, req.params.id as string);
        aclOf(req).require('intention', 'write', found.DestinationName);
        await catalog.putIntention(found.SourceName, found.DestinationName, req.body);
        return written(catalog, true);
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/connect/intentions/:id',
      acl: WRITE_ONE,
      handler: async (req) => {
        const found = byId((await firstValueFrom(catalog.intentions())).value, req.params.id as string);
        aclOf(req).require('intention', 'write', found.DestinationName);
        await catalog.deleteIntention(found.SourceName, found.DestinationName);
        return written(catalog, true);
      },
    },
  ];
}
