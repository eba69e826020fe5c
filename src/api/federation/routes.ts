// The federation's HTTP endpoints: Consul's internal federation-state reads, the endpoint a
// secondary sends its own state to (on the primary), the replication endpoint secondaries
// follow, /v1/catalog/datacenters, and what this agent knows of the others. ACLs as Consul's
// server-to-server calls: reading federation states and the replicated config entries needs
// operator:read, sending a state operator:write (a secondary's acl.tokens.agent must have
// `operator = "write"`), listing datacenters nothing.
import { need, open } from '../acl-guard.js';
import type { Catalog } from '../../catalog/catalog.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { blockingRead, indexed } from '../blocking.js';
import type { Route } from '../route.js';
import { FEDERATION_STATES_PATH, REPLICATION_PATH, type Federation } from './federation.js';

export function federationRoutes(catalog: Catalog, federation: Federation): Route[] {
  return [
    {
      method: 'GET',
      pattern: REPLICATION_PATH,
      acl: need('operator', 'read'),
      handler: async (req) => indexed(await blockingRead(req, catalog.allConfigEntries())),
    },
    {
      method: 'GET',
      pattern: FEDERATION_STATES_PATH,
      acl: need('operator', 'read'),
      handler: async (req) => indexed(await blockingRead(req, catalog.federationStatesIndexed())),
    },
    {
      method: 'GET',
      pattern: '/v1/internal/federation-state/:dc',
      acl: need('operator', 'read'),
      handler: async (req) => {
        const dc = req.params.dc as string;
        const r = await blockingRead(req, catalog.federationState(dc));
        if (!r.value) throw new NotFoundError(`no federation state for datacenter "${dc}"`);
        // Consul's FederationStateResponse: the state and the query's meta.
        return indexed(r, { State: r.value, Index: r.index, KnownLeader: true, LastContact: 0 });
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/internal/federation-state/:dc',
      acl: need('operator', 'write'),
      maxBodyBytes: 'configured',
      handler: async (req) => {
        if (!federation.isPrimary) {
          throw ValidationError.of('dc', `this agent is in the secondary datacenter "${federation.datacenter}"; federation states are sent to the primary, "${federation.primaryDatacenter}"`);
        }
        await catalog.receiveFederationState(req.params.dc as string, req.body);
        return { body: true };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/datacenters',
      acl: open('Consul\'s Catalog.ListDatacenters checks no token'),
      handler: () => ({ body: federation.datacenters() }),
    },
    {
      method: 'GET',
      pattern: '/v1/internal/federation/status',
      acl: need('operator', 'read'),
      handler: () => ({ body: federation.status() }),
    },
  ];
}
