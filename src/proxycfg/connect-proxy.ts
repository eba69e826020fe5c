// The connect-proxy (sidecar) kind: a registration -> a stream of immutable snapshots.
//
//   combineLatest(service inputs: combineLatest(roots, leaf(service), intentions(service),
//                                  default policy, proxy-defaults, service-defaults(service))
//                                                                  shared per service
//                 upstreams: per upstream (upstreams.ts)           shared per destination
//
// The kinds table (kinds.ts) coalesces these inputs and builds the snapshot from them
// (buildConnectProxySnapshot, pure).
// combineLatest is the readiness gate: nothing is emitted before roots, leaf and intentions (and
// every other watch) have produced a value.
import { combineLatest, distinctUntilChanged, map, of, switchMap, type Observable } from 'rxjs';
import type { CARoots, LeafCert } from '../ca/types.js';
import { publicBindAddress, unservableIssues } from '../catalog/services/register.js';
import { proxyConfigSchema } from '../catalog/services/proxy-config.js';
import { resolveProtocol } from '../catalog/config/protocol.js';
import type { ConfigEntryOf, ServiceInstance } from '../catalog/types.js';
import type { IntentionWithPermissions } from '../catalog/intentions/precedence.js';
import { DEFAULT_NAMESPACE, exposedClusterName, LOCAL_APP_CLUSTER } from '../core/names.js';
import { checkSources, DEFAULT_EXPOSED_CHECK_PORTS, sameCheckPaths, serviceCheckPaths, type CheckPath } from './exposed-checks.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, entryProtocol, Issues, PROXY_DEFAULTS, SERVICE_DEFAULTS, sharedBy, type ProxyDeps } from './resolve.js';
import type { AccessLogSettings, ConnectProxySnapshot, ExposedPath } from './snapshot.js';
import { meshTlsSettings } from './mesh-tls.js';
import { intentionSources } from './service-settings.js';
import { meshGatewayMode, overrideProtocolOf, resolveUpstreams, watchUpstreams, type UpstreamInputs } from './upstreams.js';

export const DEFAULT_LOCAL_ADDRESS = '127.0.0.1';

/** What a sidecar's snapshot is built from besides its upstreams. */
export interface ServiceInputs {
  readonly roots: CARoots;
  readonly leaf: LeafCert;
  readonly intentions: readonly IntentionWithPermissions[];
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  readonly proxyDefaults: ConfigEntryOf<'proxy-defaults'> | undefined;
  readonly serviceDefaults: ConfigEntryOf<'service-defaults'> | undefined;
  /** The mesh entry (its TLS Incoming and Outgoing parameters). */
  readonly mesh?: ConfigEntryOf<'mesh'> | undefined;
}

export interface ConnectProxyInputs extends ServiceInputs {
  /** The sidecar's registration. */
  readonly proxy: ServiceInstance;
  readonly upstreams: readonly UpstreamInputs[];
  /** With Expose.Checks: the HTTP and gRPC checks of the proxy's service instance to expose. */
  readonly checkPaths?: readonly CheckPath[];
}

/** The service a sidecar fronts. */
export function destinationService(proxy: ServiceInstance): string {
  return proxy.Proxy?.DestinationServiceName ?? proxy.Service;
}

/**
 * What every proxy of `service` is built from besides its registration and upstreams, combined
 * once per service: a proxy holds one subscription for all of it, not six.
 */
function serviceInputs(deps: ProxyDeps, service: string): Observable<ServiceInputs> {
  const { catalog, ca } = deps;
  return sharedBy(deps, `service-inputs/${service}`, () =>
    combineLatest({
      roots: ca.watchRoots(),
      leaf: ca.watchLeaf(service),
      intentions: catalog.watchIntentions(service),
      defaultIntentionPolicy: catalog.watchDefaultIntentionPolicy(),
      proxyDefaults: catalog.watchConfigEntry(PROXY_DEFAULTS.kind, PROXY_DEFAULTS.name),
      serviceDefaults: catalog.watchConfigEntry(SERVICE_DEFAULTS, service),
      mesh: catalog.watchConfigEntry('mesh', 'mesh'),
    }),
  );
}

/** Everything a connect-proxy registration's snapshot is built from. */
export function connectProxyInputs(proxy: ServiceInstance, deps: ProxyDeps): Observable<ConnectProxyInputs> {
  const service = serviceInputs(deps, destinationService(proxy));
  const registered = proxy.Proxy?.Upstreams ?? [];
  // Each upstream's chain is compiled with its protocol override, which the proxy's own
  // service-defaults UpstreamConfig may set: the upstream watches follow it (re-opened only when
  // an override changes).
  const upstreams = service.pipe(
    map((s) => registered.map((u) => overrideProtocolOf(u, s.serviceDefaults?.UpstreamConfig))),
    distinctUntilChanged((a, b) => a.every((p, i) => p === b[i])),
    switchMap((protocols) => watchUpstreams(deps, registered, proxy.Datacenter, protocols)),
  );
  // Expose.Checks may come from a config entry: the node's checks are watched only while it is on.
  const checkPaths = service.pipe(
    map((s) => exposesChecks(proxy.Proxy?.Expose, s.serviceDefaults?.Expose, s.proxyDefaults?.Expose)),
    distinctUntilChanged(),
    switchMap((on) => (on ? watchCheckPaths(proxy, deps) : of(NO_CHECK_PATHS))),
  );
  return combineLatest([service, upstreams, checkPaths]).pipe(map(([s, u, c]) => ({ ...s, proxy, upstreams: u, checkPaths: c })));
}

const NO_CHECK_PATHS: readonly CheckPath[] = Object.freeze([]);

/** The proxy's service instance's check paths, from its node's checks (a status change alone emits nothing). */
function watchCheckPaths(proxy: ServiceInstance, deps: ProxyDeps): Observable<readonly CheckPath[]> {
  const at = { serviceId: checkedServiceId(proxy), localAddress: localServiceAddress(proxy), ports: deps.exposeCheckPorts ?? DEFAULT_EXPOSED_CHECK_PORTS };
  return deps.catalog.watchNodeChecks(proxy.Node).pipe(
    map((checks) => serviceCheckPaths(checks, at)),
    distinctUntilChanged(sameCheckPaths),
  );
}

/** Expose.Checks of the registration, service-defaults or proxy-defaults (any one turns it on, as Consul merges it). */
function exposesChecks(...sources: ExposeEntry[]): boolean {
  return sources.some((e) => e?.Checks === true);
}

/** The service instance whose checks a sidecar exposes. */
function checkedServiceId(proxy: ServiceInstance): string {
  return proxy.Proxy?.DestinationServiceID || destinationService(proxy);
}

function localServiceAddress(proxy: ServiceInstance): string {
  return proxy.Proxy?.LocalServiceAddress || DEFAULT_LOCAL_ADDRESS;
}

function optionalNumber<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: number });
}

/** One settings object per proxy-defaults entry, so every sidecar's snapshot shares it. */
const accessLogsByEntry = new WeakMap<object, AccessLogSettings>();

function accessLogSettings(logs: NonNullable<ConfigEntryOf<'proxy-defaults'>['AccessLogs']> | undefined): { accessLogs?: AccessLogSettings } {
  if (!logs?.Enabled) return {};
  let settings = accessLogsByEntry.get(logs);
  if (!settings) {
    settings = Object.freeze({
      type: logs.Type || 'stdout',
      ...(logs.Path ? { path: logs.Path } : {}),
      ...(logs.JSONFormat ? { jsonFormat: logs.JSONFormat } : {}),
      ...(logs.TextFormat ? { textFormat: logs.TextFormat } : {}),
      disableListenerLogs: logs.DisableListenerLogs ?? false,
    });
    accessLogsByEntry.set(logs, settings);
  }
  return { accessLogs: settings };
}

type ExposeEntry = NonNullable<ServiceInstance['Proxy']>['Expose'];

function exposedCluster(localPort: number | undefined, localPathPort: number): string {
  return localPathPort === localPort ? LOCAL_APP_CLUSTER : exposedClusterName(localPathPort);
}

/**
 * Expose.Paths: the registration's, else its service-defaults', else proxy-defaults' (the first
 * non-empty list, as Consul merges them); with Expose.Checks, each check path besides. A check
 * path whose port an explicit path already takes, or that found no free port, is an issue.
 * Sorted by listener port.
 */
function exposedPaths(issues: Issues, at: { readonly localPort: number | undefined; readonly bindAddress: string }, checkPaths: readonly CheckPath[], ...sources: ExposeEntry[]): { exposedPaths?: readonly ExposedPath[] } {
  const paths: ExposedPath[] = (sources.map((e) => e?.Paths ?? []).find((p) => p.length > 0) ?? []).map((p) => ({
    path: p.Path,
    listenerPort: p.ListenerPort,
    localPathPort: p.LocalPathPort,
    protocol: p.Protocol === 'http2' ? ('http2' as const) : ('http' as const),
    cluster: exposedCluster(at.localPort, p.LocalPathPort),
  }));
  const taken = new Set(paths.map((p) => p.listenerPort));
  for (const c of checkPaths) {
    if (c.listenerPort === undefined) issues.add('Proxy.Expose.Checks', `check "${c.checkId}": no exposed-check port left on this node (ports.expose_min_port to expose_max_port)`);
    else if (taken.has(c.listenerPort)) issues.add('Proxy.Expose.Checks', `check "${c.checkId}": port ${c.listenerPort} is taken by an Expose.Paths listener (exposed-check ports come from ports.expose_min_port to expose_max_port)`);
    else paths.push({ path: c.path, listenerPort: c.listenerPort, localPathPort: c.localPathPort, protocol: c.protocol, cluster: exposedCluster(at.localPort, c.localPathPort), fromCheck: { checkId: c.checkId, sources: checkSources(at.bindAddress) } });
  }
  return paths.length ? { exposedPaths: paths.sort((a, b) => a.listenerPort - b.listenerPort) } : {};
}

/** A complete snapshot from its inputs; configuration problems are listed in `issues`. */
export function buildConnectProxySnapshot(inputs: ConnectProxyInputs): ConnectProxySnapshot {
  const { proxy } = inputs;
  const issues = new Issues();
  const p = proxy.Proxy;
  if (!p) issues.add('Proxy', 'a connect-proxy registration needs a Proxy block');
  const config = issues.parse(proxyConfigSchema, p?.Config, ['Proxy', 'Config'], {});
  issues.addAll(unservableIssues(proxy, ['Proxy']));
  const defaultsProtocol = entryProtocol(issues, inputs.proxyDefaults);
  const localPort = p?.LocalServicePort;
  if (localPort === undefined) issues.add('Proxy.LocalServicePort', 'required: the port of the service this proxy fronts');
  const mode = meshGatewayMode(p?.MeshGateway?.Mode, inputs.serviceDefaults?.MeshGateway?.Mode, inputs.proxyDefaults?.MeshGateway?.Mode);
  const upstreams = resolveUpstreams(issues, { datacenter: proxy.Datacenter, defaultsProtocol, meshGatewayMode: mode, upstreamConfig: inputs.serviceDefaults?.UpstreamConfig }, inputs.upstreams);
  const bindAddress = publicBindAddress(proxy);
  const publicProtocol = resolveProtocol(config.protocol, entryProtocol(issues, inputs.serviceDefaults), defaultsProtocol);
  return {
    kind: 'connect-proxy',
    proxyId: proxy.ID,
    service: destinationService(proxy),
    namespace: proxy.Namespace || DEFAULT_NAMESPACE,
    datacenter: proxy.Datacenter,
    trustDomain: inputs.roots.TrustDomain,
    roots: inputs.roots,
    leaf: inputs.leaf,
    intentions: intentionSources(inputs.intentions),
    defaultIntentionPolicy: inputs.defaultIntentionPolicy,
    publicListener: {
      bindAddress,
      bindPort: config.bind_port ?? proxy.Port,
      protocol: publicProtocol,
      ...optionalNumber('requestTimeoutMs', config.local_request_timeout_ms ?? inputs.serviceDefaults?.LocalRequestTimeoutMs),
      ...optionalNumber('idleTimeoutMs', config.local_idle_timeout_ms),
      ...(inputs.mesh?.HTTP?.SanitizeXForwardedClientCert ? { sanitizeXForwardedClientCert: true } : {}),
      ...((config.balance_inbound_connections || inputs.serviceDefaults?.BalanceInboundConnections) === 'exact_balance' ? { balanceConnections: true } : {}),
      ...exposedPaths(issues, { localPort, bindAddress }, inputs.checkPaths ?? NO_CHECK_PATHS, p?.Expose, inputs.serviceDefaults?.Expose, inputs.proxyDefaults?.Expose),
    },
    localApp: {
      address: p?.LocalServiceAddress || DEFAULT_LOCAL_ADDRESS,
      port: localPort ?? 0,
      connectTimeoutMs: config.local_connect_timeout_ms ?? (inputs.serviceDefaults?.LocalConnectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS),
      ...optionalNumber('maxInboundConnections', (config.max_inbound_connections ?? inputs.serviceDefaults?.MaxInboundConnections) || undefined),
    },
    upstreams,
    ...accessLogSettings(inputs.proxyDefaults?.AccessLogs),
    ...meshTlsSettings(inputs.mesh?.TLS),
    issues: issues.list,
  };
}
