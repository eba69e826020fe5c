// GET /v1/agent/xds/status[/:proxyId]: per proxy, its connected ADS streams, what each has
// acknowledged per type, and the last NACK (type, nonce, the client's error, time).
// GET /v1/agent/xds/proxy-status[/:proxyId]: the operator's report (`switchyard proxy status`):
// whether the proxy is registered, its streams, sent versus acknowledged per type, the last
// NACK, configuration problems and upstreams with no healthy instance, for every registered or
// connected proxy. GET /v1/agent/xds/config/:proxyId: what Switchyard would send it.
import { NotFoundError } from '../core/errors.js';
import type { ProxyXdsStatus, XdsStatusRegistry } from '../server/status.js';
import type { ResourceDump } from '../xds/config-dump.js';
import { need } from './acl-guard.js';
import type { Route } from './route.js';

/** What proxies are connected and what they are sent is the operator's view: operator:read (Switchyard's own endpoints; Consul has none). */
const OPERATOR_READ = need('operator', 'read');

export interface UpstreamWithoutInstancesReport {
  readonly Upstream: string;
  readonly DestinationName: string;
  readonly Datacenter: string;
  /** Registered instances, all critical when more than 0. */
  readonly Instances: number;
}

export interface ProxyReport {
  readonly ProxyID: string;
  readonly Registered: boolean;
  /** The registration's Kind ('' for a typical service), null when not registered. */
  readonly Kind: string | null;
  /** The service it fronts (a sidecar's destination), null when not registered. */
  readonly Service: string | null;
  /** Its streams as the xDS server sees them (null: no stream has connected). */
  readonly Xds: ProxyXdsStatus | null;
  /** Why it gets no (or no new) configuration, in words: empty when all is well. */
  readonly Problems: readonly string[];
  readonly UpstreamsWithoutHealthyInstances: readonly UpstreamWithoutInstancesReport[];
}

export interface ProxyConfigReport {
  readonly ProxyID: string;
  readonly Kind: string;
  readonly Resources: ResourceDump;
}

/** Builds the reports (the composition root has the catalog, the snapshots and the generators). */
export interface ProxyInspector {
  report(proxyId: string): Promise<ProxyReport>;
  reports(): Promise<ProxyReport[]>;
  /** Throws NotFoundError (not registered, not a served kind), UnavailableError (no snapshot yet) or ConflictError (configuration problems). */
  config(proxyId: string): Promise<ProxyConfigReport>;
}

export function xdsStatusRoutes(registry: XdsStatusRegistry, inspector?: ProxyInspector): Route[] {
  return [
    { method: 'GET', pattern: '/v1/agent/xds/status', acl: OPERATOR_READ, handler: () => ({ body: registry.list() }) },
    {
      method: 'GET',
      pattern: '/v1/agent/xds/status/:proxyId',
      acl: OPERATOR_READ,
      handler: (req) => {
        const proxyId = req.params.proxyId ?? '';
        const status = registry.get(proxyId);
        if (!status) throw new NotFoundError(`no xDS status for proxy "${proxyId}": it has never connected`);
        return { body: status };
      },
    },
    ...(inspector
      ? [
          { method: 'GET', pattern: '/v1/agent/xds/proxy-status', acl: OPERATOR_READ, handler: async () => ({ body: await inspector.reports() }) },
          { method: 'GET', pattern: '/v1/agent/xds/proxy-status/:proxyId', acl: OPERATOR_READ, handler: async (req) => ({ body: await inspector.report(req.params.proxyId ?? '') }) },
          { method: 'GET', pattern: '/v1/agent/xds/config/:proxyId', acl: OPERATOR_READ, handler: async (req) => ({ body: await inspector.config(req.params.proxyId ?? '') }) },
        ] satisfies Route[]
      : []),
  ];
}
