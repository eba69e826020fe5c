// The ingress-gateway kind: a registration -> a stream of immutable snapshots.
//
//   combineLatest(roots, leaf(gateway's service), proxy-defaults, mesh,
//                 its ingress-gateway entry (by the gateway's service name)
//                   -> switchMap: `*` on a listener expands to every service of the listener's
//                      protocol (service names x their service-defaults)
//                   -> switchMap: one upstream per (listener, service)      upstreams.ts, shared
//
// Every service a listener routes to is an upstream, as in Consul (its Config.protocol is the
// listener's, so the chain is compiled for it): the chain, its targets, their instances and
// subsets come from the same watches and rules as a sidecar's upstreams. No entry: a snapshot with
// no listeners and a notice (Consul's gateway with a nil config entry), not an error.
import { combineLatest, map, of, switchMap, type Observable } from 'rxjs';
import type { CARoots, LeafCert } from '../ca/types.js';
import { resolveProtocol } from '../catalog/config/protocol.js';
import { proxyConfigSchema } from '../catalog/services/proxy-config.js';
import type { ConfigEntryOf, Protocol, ServiceInstance, Upstream } from '../catalog/types.js';
import { DEFAULT_NAMESPACE } from '../core/names.js';
import { entryProtocol, gatewayIdentity, Issues, PROXY_DEFAULTS, SERVICE_DEFAULTS, sharedBy, type ProxyDeps } from './resolve.js';
import { meshTlsSettings } from './mesh-tls.js';
import type { IngressGatewaySnapshot, IngressListener, IngressListenerService, IngressListenerTls, UpstreamLimits, UpstreamSnapshot } from './snapshot.js';
import { resolvedPassiveHealthCheck, resolveUpstream, watchUpstreams, type UpstreamInputs } from './upstreams.js';

type IngressEntry = ConfigEntryOf<'ingress-gateway'>;
type EntryListener = NonNullable<IngressEntry['Listeners']>[number];
type EntryService = NonNullable<EntryListener['Services']>[number];

export const DEFAULT_INGRESS_BIND_ADDRESS = '0.0.0.0';

/** A listener's services with `*` expanded: each entry service, or a wildcard-brought name (no settings of its own but the wildcard's). */
export interface ExpandedListener {
  readonly listener: EntryListener;
  readonly protocol: Protocol;
  readonly services: readonly { readonly service: EntryService; readonly name: string; readonly fromWildcard: boolean }[];
}

export interface IngressGatewayInputs {
  readonly gateway: ServiceInstance;
  readonly roots: CARoots;
  readonly leaf: LeafCert;
  readonly proxyDefaults: ConfigEntryOf<'proxy-defaults'> | undefined;
  readonly mesh: ConfigEntryOf<'mesh'> | undefined;
  readonly entry: IngressEntry | undefined;
  /** The entry's listeners, `*` expanded, by port. */
  readonly listeners: readonly ExpandedListener[];
  /** One per (listener, service), in the listeners' order. */
  readonly upstreams: readonly UpstreamInputs[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every typical service's protocol (its service-defaults, else proxy-defaults, else tcp), for `*`. */
function serviceProtocols(deps: ProxyDeps): Observable<ReadonlyMap<string, Protocol>> {
  const { catalog } = deps;
  return sharedBy(deps, 'ingress/service-protocols', () =>
    combineLatest([catalog.watchServiceNames(), catalog.watchConfigEntry(PROXY_DEFAULTS.kind, PROXY_DEFAULTS.name)]).pipe(
      switchMap(([names, proxyDefaults]) =>
        names.length === 0
          ? of(new Map<string, Protocol>())
          : combineLatest(names.map((n) => catalog.watchConfigEntry(SERVICE_DEFAULTS, n).pipe(map((sd) => [n, resolveProtocol(sd, proxyDefaults)] as const)))).pipe(map((pairs) => new Map(pairs))),
      ),
    ),
  );
}

/** The entry's listeners with `*` expanded (listed services first, then the wildcard's, each by name), by port. */
export function expandListeners(entry: IngressEntry | undefined, protocols: ReadonlyMap<string, Protocol> | undefined): ExpandedListener[] {
  return [...(entry?.Listeners ?? [])]
    .sort((a, b) => a.Port - b.Port)
    .map((listener) => {
      const protocol = listener.Protocol ?? 'tcp';
      const listed = (listener.Services ?? []).filter((s) => s.Name !== '*');
      const wildcard = (listener.Services ?? []).find((s) => s.Name === '*');
      const services = [...listed].sort((a, b) => byName(a.Name, b.Name)).map((service) => ({ service, name: service.Name, fromWildcard: false }));
      if (wildcard && protocols) {
        const taken = new Set(listed.map((s) => s.Name));
        for (const [name, p] of [...protocols].sort(([a], [b]) => byName(a, b))) if (p === protocol && !taken.has(name)) services.push({ service: wildcard, name, fromWildcard: true });
      }
      return { listener, protocol, services };
    });
}

/** The upstream Consul makes of a gateway service: bound to the listener's port, compiled for the listener's protocol. */
function upstreamOf(l: ExpandedListener, name: string): Upstream {
  return { DestinationName: name, LocalBindPort: l.listener.Port, Config: { protocol: l.protocol } };
}

/** Everything an ingress-gateway registration's snapshot is built from. */
export function ingressGatewayInputs(gateway: ServiceInstance, deps: ProxyDeps): Observable<IngressGatewayInputs> {
  const { catalog, ca } = deps;
  const entry$ = catalog.watchConfigEntry('ingress-gateway', gateway.Service);
  const listeners$ = entry$.pipe(
    switchMap((entry) => {
      const wildcard = (entry?.Listeners ?? []).some((l) => (l.Services ?? []).some((s) => s.Name === '*'));
      const protocols$: Observable<ReadonlyMap<string, Protocol> | undefined> = wildcard ? serviceProtocols(deps) : of(undefined);
      return protocols$.pipe(map((protocols) => ({ entry, listeners: expandListeners(entry, protocols) })));
    }),
  );
  const withUpstreams$ = listeners$.pipe(
    switchMap(({ entry, listeners }) =>
      watchUpstreams(deps, listeners.flatMap((l) => l.services.map((s) => upstreamOf(l, s.name))), gateway.Datacenter).pipe(map((upstreams) => ({ entry, listeners, upstreams }))),
    ),
  );
  return combineLatest({
    roots: ca.watchRoots(),
    leaf: ca.watchLeaf(gateway.Service),
    proxyDefaults: catalog.watchConfigEntry(PROXY_DEFAULTS.kind, PROXY_DEFAULTS.name),
    mesh: catalog.watchConfigEntry('mesh', 'mesh'),
    resolved: withUpstreams$,
  }).pipe(map(({ resolved, ...rest }) => ({ ...rest, ...resolved, gateway })));
}

type TlsEntry = NonNullable<IngressEntry['TLS']>;

type SdsEntry = NonNullable<TlsEntry['SDS']>;

/**
 * The listener's TLS over the entry's (Consul's precedence: the listener's fields, where set, win;
 * a service's own SDS certificate over both, with their versions and ciphers).
 */
function listenerTls(entryTls: TlsEntry | undefined, own: TlsEntry | undefined, serviceSds?: SdsEntry): IngressListenerTls | undefined {
  // As Consul: a listener can turn TLS on for itself, not off against the entry's.
  const enabled = (entryTls?.Enabled ?? false) || (own?.Enabled ?? false);
  const sds = serviceSds?.ClusterName ? serviceSds : own?.SDS?.ClusterName ? own.SDS : entryTls?.SDS?.ClusterName ? entryTls.SDS : undefined;
  if (!enabled && !sds) return undefined;
  const min = own?.TLSMinVersion ?? entryTls?.TLSMinVersion;
  const max = own?.TLSMaxVersion ?? entryTls?.TLSMaxVersion;
  const ciphers = own?.CipherSuites?.length ? own.CipherSuites : entryTls?.CipherSuites;
  const params = min || max || ciphers?.length ? { ...(min ? { minVersion: min } : {}), ...(max ? { maxVersion: max } : {}), ...(ciphers?.length ? { cipherSuites: [...ciphers] } : {}) } : undefined;
  if (sds) return { source: 'sds', clusterName: sds.ClusterName as string, certResource: sds.CertResource as string, ...(params ? { params } : {}) };
  return { source: 'leaf', ...(params ? { params } : {}) };
}

type Limits = Pick<EntryService, 'MaxConnections' | 'MaxPendingRequests' | 'MaxConcurrentRequests' | 'PassiveHealthCheck'>;

/** A service's limits over the entry's Defaults, field by field; 0 is unset (as Consul). */
function ingressLimits(svc: Limits, defaults: Limits | undefined): Pick<UpstreamSnapshot, 'limits' | 'passiveHealthCheck'> {
  const pick = (k: 'MaxConnections' | 'MaxPendingRequests' | 'MaxConcurrentRequests') => svc[k] || defaults?.[k] || undefined;
  const limits: UpstreamLimits = Object.fromEntries(
    Object.entries({ maxConnections: pick('MaxConnections'), maxPendingRequests: pick('MaxPendingRequests'), maxConcurrentRequests: pick('MaxConcurrentRequests') }).filter(([, v]) => v !== undefined),
  );
  const passive = resolvedPassiveHealthCheck(svc.PassiveHealthCheck ?? defaults?.PassiveHealthCheck);
  return { ...(Object.keys(limits).length ? { limits } : {}), ...(passive ? { passiveHealthCheck: passive } : {}) };
}

/** The id of a (listener, service) upstream: `<port>/<service>`. */
export function ingressUpstreamId(port: number, service: string): string {
  return `${port}/${service}`;
}

export const NO_INGRESS_ENTRY = 'no ingress-gateway config entry';

/** A complete snapshot from its inputs; configuration problems are listed in `issues`. */
export function buildIngressGatewaySnapshot(inputs: IngressGatewayInputs): IngressGatewaySnapshot {
  const { gateway, entry } = inputs;
  const issues = new Issues();
  issues.parse(proxyConfigSchema, gateway.Proxy?.Config, ['Proxy', 'Config'], {});
  const defaultsProtocol = entryProtocol(issues, inputs.proxyDefaults);
  const owner = { datacenter: gateway.Datacenter, defaultsProtocol, meshGatewayMode: inputs.proxyDefaults?.MeshGateway?.Mode ?? '' } as const;
  const address = gateway.Address || DEFAULT_INGRESS_BIND_ADDRESS;
  const upstreams: UpstreamSnapshot[] = [];
  const listeners: IngressListener[] = [];
  let next = 0;
  for (const l of inputs.listeners) {
    const services: IngressListenerService[] = [];
    for (const s of l.services) {
      const input = inputs.upstreams[next++];
      if (!input) continue;
      const id = ingressUpstreamId(l.listener.Port, s.name);
      upstreams.push({ ...resolveUpstream(issues, owner, input), id, ...ingressLimits(s.service, entry?.Defaults) });
      services.push({
        name: s.name,
        namespace: DEFAULT_NAMESPACE,
        hosts: s.fromWildcard ? [] : [...(s.service.Hosts ?? [])],
        ...(s.service.RequestHeaders ? { requestHeaders: s.service.RequestHeaders } : {}),
        ...(s.service.ResponseHeaders ? { responseHeaders: s.service.ResponseHeaders } : {}),
        ...(!s.fromWildcard && s.service.TLS?.SDS?.ClusterName ? { tls: listenerTls(entry?.TLS, l.listener.TLS, s.service.TLS.SDS) } : {}),
        upstreamId: id,
      });
    }
    const tls = listenerTls(entry?.TLS, l.listener.TLS);
    listeners.push({ address, port: l.listener.Port, protocol: l.protocol, ...(tls ? { tls } : {}), services });
  }
  return {
    kind: 'ingress-gateway',
    ...gatewayIdentity(gateway, inputs.roots.TrustDomain),
    roots: inputs.roots,
    leaf: inputs.leaf,
    listeners,
    upstreams: upstreams.sort((a, b) => byName(a.id, b.id)),
    ...(entry ? {} : { notice: `${NO_INGRESS_ENTRY} named "${gateway.Service}": the gateway has no listeners until one is written` }),
    ...meshTlsSettings(inputs.mesh?.TLS),
    issues: issues.list,
  };
}
