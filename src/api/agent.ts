// /v1/agent/*: services and checks registered on this agent's node.
import type { Catalog } from '../catalog/catalog.js';
import type { HealthStatus } from '../catalog/types.js';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { parseInput } from '../core/validate.js';
import { blockingRead, indexed } from './blocking.js';
import { agentService } from './shapes.js';
import { REGISTRATION_BODY_BYTES, type ApiRequest, type Route } from './route.js';

const checkUpdate = z.object({ Status: z.enum(['passing', 'warning', 'critical']), Output: z.string().optional() });

const STATUS: Record<string, HealthStatus> = { pass: 'passing', warn: 'warning', fail: 'critical' };

export function agentRoutes(catalog: Catalog): Route[] {
  return [
    {
      method: 'PUT',
      pattern: '/v1/agent/service/register',
      maxBodyBytes: REGISTRATION_BODY_BYTES,
      handler: async (req) => {
        await catalog.registerService(req.body);
        return { text: '' };
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/service/deregister/:id',
      handler: async (req) => {
        await catalog.deregisterService(req.params.id as string);
        return { text: '' };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/services',
      handler: async (req) => {
        const r = await blockingRead(req, catalog.agentServices());
        return indexed(r, Object.fromEntries(r.value.map((s) => [s.ID, agentService(s)])));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/service/:id',
      handler: async (req) => {
        const id = req.params.id as string;
        const r = await blockingRead(req, catalog.service(id));
        if (!r.value) throw new NotFoundError(`unknown service ID: ${id}`);
        return indexed(r, agentService(r.value));
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/check/register',
      handler: async (req) => {
        await catalog.registerCheck(req.body);
        return { text: '' };
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/check/deregister/:id',
      handler: async (req) => {
        await catalog.deregisterCheck(req.params.id as string);
        return { text: '' };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/checks',
      handler: async (req) => {
        const r = await blockingRead(req, catalog.agentChecks());
        return indexed(r, Object.fromEntries(r.value.map((c) => [c.CheckID, c])));
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/check/update/:id',
      handler: async (req) => {
        const body = parseInput(checkUpdate, req.body ?? {}, 'invalid check update');
        await catalog.updateCheck(req.params.id as string, body.Status, body.Output ?? '', { ttlOnly: true });
        return { text: '' };
      },
    },
    ...(['pass', 'warn', 'fail'] as const).map(
      (verb): Route => ({
        method: 'PUT',
        pattern: `/v1/agent/check/${verb}/:id`,
        handler: async (req) => {
          await catalog.updateCheck(req.params.id as string, STATUS[verb] as HealthStatus, note(req), { ttlOnly: true });
          return { text: '' };
        },
      }),
    ),
  ];
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
