// /v1/agent/*: services and checks registered on this agent's node. ACLs as Consul's agent
// endpoints: registering or deregistering a service needs service:write on it (and on a sidecar's
// destination), a check service:write on its service or node:write on the node, and the lists
// show what the token may read.
import type { Catalog } from '../catalog/catalog.js';
import type { HealthCheck, HealthStatus, ServiceInstance } from '../catalog/types.js';
import { firstValueFrom } from 'rxjs';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { parseInput } from '../core/validate.js';
import { aclOf, FILTERED, inHandler, need, markFiltered, mayRead, vetCheckWrite, vetServiceWrite, visible } from './acl-guard.js';
import { blockingRead, hashBlockingRead, indexed } from './blocking.js';
import { filterParam } from './filter.js';
import { agentService, contentHash } from './shapes.js';
import { REGISTRATION_BODY_BYTES, type ApiRequest, type Route } from './route.js';

const checkUpdate = z.object({ Status: z.enum(['passing', 'warning', 'critical']), Output: z.string().optional() });

const STATUS: Record<string, HealthStatus> = { pass: 'passing', warn: 'warning', fail: 'critical' };

export function agentRoutes(catalog: Catalog): Route[] {
  return [
    {
      method: 'PUT',
      pattern: '/v1/agent/service/register',
      maxBodyBytes: REGISTRATION_BODY_BYTES,
      acl: inHandler('service:write on the service, on its sidecar and on a connect-proxy\'s destination'),
      handler: async (req) => {
        await catalog.registerService(req.body, vetServiceWrite(aclOf(req)));
        return { text: '' };
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/service/deregister/:id',
      acl: inHandler('service:write on the service'),
      handler: async (req) => {
        await catalog.deregisterService(req.params.id as string, (s) => aclOf(req).require('service', 'write', s.Service));
        return { text: '' };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/services',
      acl: FILTERED,
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.agentServices());
        const { items, hidden } = visible(req, r.value, mayRead.service);
        return markFiltered(req, indexed(r, Object.fromEntries(items.map((s) => [s.ID, agentService(s)]).filter(([, s]) => filter(s)))), hidden);
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/service/:id',
      acl: inHandler('service:read on the service'),
      handler: async (req) => {
        const id = req.params.id as string;
        // Checked before a blocking query waits too, so a denied token holds no connection.
        const now = (await firstValueFrom(catalog.service(id))).value;
        if (now) aclOf(req).require('service', 'read', now.Service);
        // As Consul's: the answer carries its ContentHash (also as X-Consul-ContentHash), and
        // ?hash=H blocks until the service differs from what H was the hash of.
        const r = await hashBlockingRead(req, catalog.service(id), (v) => (v ? contentHash(agentService(v)) : ''));
        if (!r.value) throw new NotFoundError(`unknown service ID: ${id}`);
        aclOf(req).require('service', 'read', r.value.Service);
        const body = agentService(r.value);
        const hash = contentHash(body);
        const answer = indexed(r, { ...body, ContentHash: hash });
        return { ...answer, headers: { ...answer.headers, 'X-Consul-ContentHash': hash } };
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/check/register',
      acl: inHandler('service:write on the check\'s service, or node:write on this node for a node check'),
      handler: async (req) => {
        await catalog.registerCheck(req.body, (service) => vetCheckWrite(aclOf(req))({ Node: catalog.node, ServiceName: service?.Service ?? '' }));
        return { text: '' };
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/check/deregister/:id',
      acl: inHandler('service:write on the check\'s service, or node:write on its node'),
      handler: async (req) => {
        await catalog.deregisterCheck(req.params.id as string, vetCheckWrite(aclOf(req)));
        return { text: '' };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/checks',
      acl: FILTERED,
      handler: async (req) => {
        const filter = filterParam(req);
        const r = await blockingRead(req, catalog.agentChecks());
        const { items, hidden } = visible(req, r.value.filter(filter), mayRead.agentCheck);
        return markFiltered(req, indexed(r, Object.fromEntries(items.map((c) => [c.CheckID, c]))), hidden);
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/check/update/:id',
      acl: inHandler('service:write on the check\'s service, or node:write on its node'),
      handler: async (req) => {
        const body = parseInput(checkUpdate, req.body ?? {}, 'invalid check update');
        await catalog.updateCheck(req.params.id as string, body.Status, body.Output ?? '', { ttlOnly: true, vet: vetCheckWrite(aclOf(req)) });
        return { text: '' };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/health/service/id/:id',
      acl: inHandler('service:read on the service'),
      // Consul's local health of one instance: 200 passing, 429 warning, 503 critical, 404 unknown.
      handler: async (req) => {
        const id = req.params.id as string;
        const [info] = await localHealth(catalog, (s) => s.ID === id);
        if (!info) return { status: 404, text: `ServiceId ${id} not found\n` };
        aclOf(req).require('service', 'read', info.Service.Service as string);
        return { status: HEALTH_STATUS_CODE[info.AggregatedStatus], body: info };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/health/service/name/:name',
      acl: need('service', 'read', (req) => req.params.name as string),
      // Every local instance of the service, answered with the worst aggregated status's code.
      handler: async (req) => {
        const name = req.params.name as string;
        const infos = await localHealth(catalog, (s) => s.Service === name);
        if (infos.length === 0) return { status: 404, text: `ServiceName ${name} Not Found\n` };
        return { status: HEALTH_STATUS_CODE[worst(infos.map((i) => i.AggregatedStatus))], body: infos };
      },
    },
    ...(['pass', 'warn', 'fail'] as const).map(
      (verb): Route => ({
        method: 'PUT',
        pattern: `/v1/agent/check/${verb}/:id`,
        acl: inHandler('service:write on the check\'s service, or node:write on its node'),
        handler: async (req) => {
          await catalog.updateCheck(req.params.id as string, STATUS[verb] as HealthStatus, note(req), { ttlOnly: true, vet: vetCheckWrite(aclOf(req)) });
          return { text: '' };
        },
      }),
    ),
  ];
}

/** The HTTP status Consul answers a local health query with, by aggregated status. */
const HEALTH_STATUS_CODE: Record<HealthStatus, number> = { passing: 200, warning: 429, critical: 503 };
const SEVERITY: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2 };

function worst(statuses: readonly HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((w, s) => (SEVERITY[s] > SEVERITY[w] ? s : w), 'passing');
}

/** Consul's AgentServiceChecksInfo for the agent's services that `pick` selects. */
async function localHealth(catalog: Catalog, pick: (s: ServiceInstance) => boolean): Promise<{ AggregatedStatus: HealthStatus; Service: Record<string, unknown>; Checks: HealthCheck[] }[]> {
  const services = (await firstValueFrom(catalog.agentServices())).value.filter(pick);
  const checks = (await firstValueFrom(catalog.agentChecks())).value;
  return services.map((s) => {
    const own = checks.filter((c) => c.ServiceID === s.ID);
    return { AggregatedStatus: worst(own.map((c) => c.Status)), Service: agentService(s), Checks: own };
  });
}

/** `?note=` (Consul's TTL output), or the `Output` of a JSON body. */
function note(req: ApiRequest): string {
  const fromQuery = req.query.get('note');
  if (fromQuery !== null) return fromQuery;
  if (req.body === undefined) return '';
  const output = (req.body as { Output?: unknown } | null)?.Output;
  if (output !== undefined && typeof output !== 'string') throw ValidationError.of('Output', 'must be a string');
  return output ?? '';
}
