// GET /v1/agent/xds/status[/:proxyId]: per proxy, its connected ADS streams, what each has
// acknowledged per type, and the last NACK (type, nonce, the client's error, time).
import { NotFoundError } from '../core/errors.js';
import type { XdsStatusRegistry } from '../server/status.js';
import type { Route } from './route.js';

export function xdsStatusRoutes(registry: XdsStatusRegistry): Route[] {
  return [
    { method: 'GET', pattern: '/v1/agent/xds/status', handler: () => ({ body: registry.list() }) },
    {
      method: 'GET',
      pattern: '/v1/agent/xds/status/:proxyId',
      handler: (req) => {
        const proxyId = req.params.proxyId ?? '';
        const status = registry.get(proxyId);
        if (!status) throw new NotFoundError(`no xDS status for proxy "${proxyId}": it has never connected`);
        return { body: status };
      },
    },
  ];
}
