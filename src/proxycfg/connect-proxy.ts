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
import { combineLatest, distinctUntilChanged, map, switchMap, type Observable } from 'rxjs';
import type { CARoots, LeafCert } from '../ca/types.js';
import { publicBindAddress, unservableIssues } from '../catalog/services/register.js';
import { proxyConfigSchema } from '../catalog/services/proxy-config.js';
import { resolveProtocol } from '../catalog/config/protocol.js';
import type { ConfigEntryOf, ServiceInstance } from '../catalog/types.js';
import type { IntentionWithPermissions } from '../catalog/intentions/precedence.js';
import { DEFAULT_NAMESPACE, exposedClusterName, LOCAL_APP_CLUSTER } from '../core/names.js';
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
  return combineLatest([service, upstreams]).pipe(map(([s, u]) => ({ ...s, proxy, upstreams: u })));
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

/**
 * Expose.Paths: the registration's, else its service-defaults', else proxy-defaults' (the first
 * non-empty list, as Consul merges them), sorted by listener port.
 */
function exposedPaths(localPort: number | undefined, ...sources: ExposeEntry[]): { exposedPaths?: readonly ExposedPath[] } {
  const paths = sources.map((e) => e?.Paths ?? []).find((p) => p.length > 0);
  if (!paths) return {};
  return {
    exposedPaths: paths
      .map((p) => ({
        path: p.Path,
        listenerPort: p.ListenerPort,
        localPathPort: p.LocalPathPort,
        protocol: p.Protocol === 'http2' ? ('http2' as const) : ('http' as const),
        cluster: p.LocalPathPort === localPort ? LOCAL_APP_CLUSTER : exposedClusterName(p.LocalPathPort),
      }))
      .sort((a, b) => a.listenerPort - b.listenerPort),
  };
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
      bindAddress: publicBindAddress(proxy),
      bindPort: config.bind_port ?? proxy.Port,
      protocol: publicProtocol,
      ...optionalNumber('requestTimeoutMs', config.local_request_timeout_ms ?? inputs.serviceDefaults?.LocalRequestTimeoutMs),
      ...optionalNumber('idleTimeoutMs', config.local_idle_timeout_ms),
      ...(inputs.mesh?.HTTP?.SanitizeXForwardedClientCert ? { sanitizeXForwardedClientCert: true } : {}),
      ...((config.balance_inbound_connections || inputs.serviceDefaults?.BalanceInboundConnections) === 'exact_balance' ? { balanceConnections: true } : {}),
      ...exposedPaths(localPort, p?.Expose, inputs.serviceDefaults?.Expose, inputs.proxyDefaults?.Expose),
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
