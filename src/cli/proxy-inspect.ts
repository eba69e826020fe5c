// The operator's view of a proxy (GET /v1/agent/xds/proxy-status, /v1/agent/xds/config): its
// registration, its streams as the xDS server sees them, and what its snapshot says — problems
// found resolving its configuration, upstreams with no healthy instance — composed here, where
// the catalog, the snapshots, the generators and the xDS status are all at hand.
import { firstValueFrom, map, race, timer, type Observable } from 'rxjs';
import type { ProxyConfigReport, ProxyInspector, ProxyReport } from '../api/xds-status.js';
import type { ServiceInstance } from '../catalog/types.js';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../core/errors.js';
import { upstreamsWithoutHealthyInstances } from '../proxycfg/inspect.js';
import type { ProxyConfigManager, ProxyState } from '../proxycfg/manager.js';
import type { ProxySnapshot } from '../proxycfg/snapshot.js';
import type { XdsStatusRegistry } from '../server/status.js';
import { dumpResources } from '../xds/config-dump.js';
import { tryGenerateResources } from '../xds/generate.js';

export interface InspectorDeps {
  readonly proxies: ProxyConfigManager;
  readonly status: XdsStatusRegistry;
  readonly registration: (proxyId: string) => Observable<ServiceInstance | undefined>;
  /** How long to wait for a complete snapshot (the proxy's leaf is signed on first use). */
  readonly snapshotWaitMs?: number;
}

const NOT_REGISTERED = 'not registered: no service with this ID is registered on this agent, so its Envoy gets no configuration (register the proxy, or start Envoy with the proxy\'s service ID)';

type Current = ProxyState | { readonly state: 'incomplete' };

export function proxyInspector(deps: InspectorDeps): ProxyInspector {
  const waitMs = deps.snapshotWaitMs ?? 5000;
  const current = (proxyId: string): Promise<Current> =>
    firstValueFrom(race(deps.proxies.watch(proxyId), timer(waitMs).pipe(map((): Current => ({ state: 'incomplete' })))));

  const report = async (proxyId: string): Promise<ProxyReport> => {
    const [registration, state] = await Promise.all([firstValueFrom(deps.registration(proxyId)), current(proxyId)]);
    const xds = deps.status.get(proxyId) ?? null;
    const problems: string[] = [];
    let snapshot: ProxySnapshot | undefined;
    switch (state.state) {
      case 'unregistered':
        problems.push(NOT_REGISTERED);
        break;
      case 'unsupported':
        problems.push(state.kind === '' ? 'not a proxy: a typical service gets no xDS configuration (start Envoy with its sidecar\'s ID, or -sidecar-for)' : `proxy kind "${state.kind}" is not served by Switchyard`);
        break;
      case 'incomplete':
        problems.push(`no complete snapshot within ${waitMs} ms: its certificate, the CA roots or its upstreams' health are not available yet`);
        break;
      case 'snapshot':
        snapshot = state.snapshot;
        for (const issue of state.snapshot.issues) problems.push(`configuration problem: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
        // A gateway with nothing to serve yet (no ingress-gateway entry) is not an error, but it is a problem to see.
        if ('notice' in state.snapshot && state.snapshot.notice) problems.push(state.snapshot.notice);
        break;
    }
    if (xds?.GenerationError && !problems.some((p) => p.startsWith('configuration problem'))) problems.push(xds.GenerationError.Error);
    // A NACK is a problem while it stands: the rejected response is still the last one sent of
    // its type (a later response acknowledged means Envoy took the fix), or no stream is left.
    const nack = xds?.LastNack;
    const standing = nack && (xds.Streams.length === 0 || xds.Streams.some((s) => s.Types[nack.TypeUrl]?.SentNonce === nack.Nonce));
    if (nack && standing) problems.push(`Envoy rejected its last ${nack.TypeUrl.split('.').pop()} update (nonce ${nack.Nonce}), keeping its previous one: ${nack.Error}`);
    if (xds?.LastDenied) problems.push(`its last stream was refused (${xds.LastDenied.Code}): ${xds.LastDenied.Error}`);
    if (snapshot && (xds?.ConnectedStreams ?? 0) === 0) problems.push(`no Envoy is connected for it: start one with \`switchyard connect envoy -proxy-id ${proxyId}\``);
    const empty = snapshot ? upstreamsWithoutHealthyInstances(snapshot) : [];
    return {
      ProxyID: proxyId,
      Registered: registration !== undefined,
      Kind: registration ? registration.Kind : null,
      Service: registration ? registration.Proxy?.DestinationServiceName || registration.Service : null,
      Xds: xds,
      Problems: problems,
      UpstreamsWithoutHealthyInstances: empty.map((u) => ({ Upstream: u.upstream, DestinationName: u.destinationName, Datacenter: u.datacenter, Instances: u.instances })),
    };
  };

  return {
    report,
    async reports() {
      const registered = await firstValueFrom(deps.proxies.proxyIds());
      const ids = [...new Set([...registered, ...deps.status.list().map((s) => s.ProxyID)])].sort();
      return Promise.all(ids.map(report));
    },
    async config(proxyId): Promise<ProxyConfigReport> {
      const state = await current(proxyId);
      if (state.state === 'unregistered') throw new NotFoundError(`proxy "${proxyId}": ${NOT_REGISTERED}`);
      if (state.state === 'unsupported') throw new NotFoundError(`proxy "${proxyId}" is registered as kind "${state.kind}", which gets no xDS configuration`);
      if (state.state === 'incomplete') throw new UnavailableError(`proxy "${proxyId}": no complete snapshot within ${waitMs} ms; retry shortly`);
      const result = tryGenerateResources(state.snapshot);
      // The stored configuration is at fault, not the request: 409, naming every field.
      if (!result.ok) throw new ConflictError(new ValidationError(result.issues, `proxy ${proxyId} has configuration problems and gets no new configuration`).message);
      return { ProxyID: proxyId, Kind: state.snapshot.kind, Resources: dumpResources(result.resources) };
    },
  };
}
