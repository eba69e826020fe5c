// The terminating-gateway kind: a registration -> a stream of immutable snapshots.
//
//   combineLatest(roots, default policy, proxy-defaults, mesh, this datacenter's terminating gateways
//                 (the gateway's own node address),
//                 its terminating-gateway entry (by the gateway's service name) -> every linked service:
//                   combineLatest(its own instances, service-defaults, service-resolver,
//                                 intentions to it, its leaf certificate))
//
// A linked service is named in the entry, or reached by `*`: every service that is not in the mesh
// (no sidecar, not Connect-native), named settings winning over the wildcard's, as in Consul. The
// gateway terminates mesh mTLS as each linked service (its leaf), enforces that service's
// intentions, and sends to the service's instances: by IP over EDS, by host name with Envoy's own
// DNS (LOGICAL_DNS, the first healthy one), optionally over TLS it originates (CAFile, CertFile,
// KeyFile, SNI). A service with no instance is left out until it has one (Consul's ValidServices).
// The kinds table (kinds.ts) coalesces the inputs and builds the snapshot.
import { isIP } from 'node:net';
import { combineLatest, distinctUntilChanged, map, of, switchMap, type Observable } from 'rxjs';
import type { CARoots, LeafCert } from '../ca/types.js';
import type { ResolverEntry } from '../catalog/config/chain.js';
import { resolveProtocol } from '../catalog/config/protocol.js';
import type { IntentionWithPermissions } from '../catalog/intentions/precedence.js';
import type { CheckServiceNode, ConfigEntryOf, ServiceInstance } from '../catalog/types.js';
import { parseDuration } from '../core/duration.js';
import { DEFAULT_NAMESPACE } from '../core/names.js';
import { subsetNodes } from './chain.js';
import { meshTlsSettings } from './mesh-tls.js';
import { intentionSources } from './service-settings.js';
import { gatewayBasics, gatewayListeners } from './gateways.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, entryProtocol, Issues, PROXY_DEFAULTS, SERVICE_DEFAULTS, type ProxyDeps } from './resolve.js';
import type { GatewayTarget, LinkedService, OriginationTls, TerminatingGatewaySnapshot, UpstreamEndpoint } from './snapshot.js';
import { WILDCARD_SERVICE } from './terminating-links.js';
import { endpointsOf } from './upstreams.js';

type GatewayEntry = ConfigEntryOf<'terminating-gateway'>;
/** One service as the entry links it (its TLS origination and host rewrite settings). */
export type ServiceLink = NonNullable<GatewayEntry['Services']>[number];

/** What one linked service's part of the snapshot is built from. */
export interface LinkedServiceInputs {
  readonly link: ServiceLink;
  /** The service's name (the link's, or one the wildcard reached). */
  readonly name: string;
  readonly instances: readonly CheckServiceNode[];
  readonly serviceDefaults: ConfigEntryOf<'service-defaults'> | undefined;
  readonly resolver: ResolverEntry | undefined;
  readonly intentions: readonly IntentionWithPermissions[];
  readonly leaf: LeafCert;
}

export interface TerminatingGatewayInputs {
  readonly gateway: ServiceInstance;
  readonly roots: CARoots;
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  readonly proxyDefaults: ConfigEntryOf<'proxy-defaults'> | undefined;
  readonly mesh: ConfigEntryOf<'mesh'> | undefined;
  /** This datacenter's terminating gateways (the gateway's node address is read from its entry). */
  readonly gateways: readonly CheckServiceNode[];
  /** Sorted by name. */
  readonly services: readonly LinkedServiceInputs[];
}

function linkedService(deps: ProxyDeps, link: ServiceLink, name: string): Observable<LinkedServiceInputs> {
  const { catalog, ca } = deps;
  return combineLatest({
    instances: catalog.watchServiceHealth(name),
    serviceDefaults: catalog.watchConfigEntry(SERVICE_DEFAULTS, name),
    resolver: catalog.watchConfigEntry('service-resolver', name),
    intentions: catalog.watchIntentions(name),
    leaf: ca.watchLeaf(name),
  }).pipe(map((parts) => ({ ...parts, link, name })));
}

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/** The services `*` reaches: every one with instances of its own and no sidecar, not named otherwise. */
function wildcardNames(deps: ProxyDeps, named: ReadonlySet<string>): Observable<readonly string[]> {
  return deps.catalog.watchServiceNames().pipe(
    switchMap((names) => {
      const candidates = names.filter((n) => !named.has(n));
      if (candidates.length === 0) return of([]);
      return combineLatest(candidates.map((n) => deps.catalog.watchConnectHealth(n).pipe(map((sidecars) => (sidecars.length === 0 ? n : undefined))))).pipe(
        map((list) => list.filter((n): n is string => n !== undefined)),
      );
    }),
    distinctUntilChanged(sameNames),
  );
}

/** Every service the entry links, with its inputs, sorted by name; `of([])` without one. */
function linkedServices(deps: ProxyDeps, entry: GatewayEntry | undefined): Observable<readonly LinkedServiceInputs[]> {
  const links = entry?.Services ?? [];
  const named = links.filter((l) => l.Name !== WILDCARD_SERVICE);
  const wildcard = links.find((l) => l.Name === WILDCARD_SERVICE);
  const byName = (list: readonly LinkedServiceInputs[]) => [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const explicit$ = named.length === 0 ? of([]) : combineLatest(named.map((l) => linkedService(deps, l, l.Name)));
  if (!wildcard) return explicit$.pipe(map(byName));
  const wild$ = wildcardNames(deps, new Set(named.map((l) => l.Name))).pipe(
    switchMap((names) => (names.length === 0 ? of([]) : combineLatest(names.map((n) => linkedService(deps, wildcard, n))))),
  );
  return combineLatest([explicit$, wild$]).pipe(map(([a, b]) => byName([...a, ...b])));
}

/** Everything a terminating-gateway registration's snapshot is built from. */
export function terminatingGatewayInputs(gateway: ServiceInstance, deps: ProxyDeps): Observable<TerminatingGatewayInputs> {
  const { catalog, ca } = deps;
  return combineLatest({
    roots: ca.watchRoots(),
    defaultIntentionPolicy: catalog.watchDefaultIntentionPolicy(),
    proxyDefaults: catalog.watchConfigEntry(PROXY_DEFAULTS.kind, PROXY_DEFAULTS.name),
    mesh: catalog.watchConfigEntry('mesh', 'mesh'),
    gateways: catalog.watchTerminatingGateways(),
    services: catalog.watchConfigEntry('terminating-gateway', gateway.Service).pipe(switchMap((entry) => linkedServices(deps, entry))),
  }).pipe(map((inputs) => ({ ...inputs, gateway })));
}

function originationTls(link: ServiceLink): OriginationTls | undefined {
  if (!link.CAFile) return undefined;
  return { caFile: link.CAFile, ...(link.CertFile ? { certFile: link.CertFile, keyFile: link.KeyFile ?? '' } : {}), ...(link.SNI ? { sni: link.SNI } : {}) };
}

/** An instance Envoy must resolve itself: its address (the service's, else its node's) is a host name. */
const byHostname = (n: CheckServiceNode) => isIP(n.Service.Address || n.Node.Address) === 0;

/**
 * A cluster's instances: by IP (EDS) or, when any instance has a host name, the first healthy
 * host name (the last unhealthy one when none is), as Consul's configureClusterWithHostnames.
 */
function target(service: string, subset: string, nodes: readonly CheckServiceNode[]): GatewayTarget {
  const hostnames = nodes.filter(byHostname);
  if (hostnames.length === 0) return { service, subset, endpoints: endpointsOf(nodes) };
  const ordered = endpointsOf(hostnames);
  const dns: UpstreamEndpoint | undefined = ordered.find((e) => e.health !== 'critical') ?? ordered[ordered.length - 1];
  return { service, subset, ...(dns ? { dns } : {}), endpoints: [] };
}

function millisOf(issues: Issues, field: string, raw: string | undefined): number | undefined {
  if (!raw) return undefined;
  try {
    return parseDuration(field, raw) || undefined;
  } catch {
    issues.add(field, `"${raw}" is not a duration`);
    return undefined;
  }
}

/** A complete snapshot from its inputs; configuration problems are listed in `issues`. */
export function buildTerminatingGatewaySnapshot(inputs: TerminatingGatewayInputs): TerminatingGatewaySnapshot {
  const { gateway } = inputs;
  const issues = new Issues();
  const { identity, config } = gatewayBasics(issues, gateway, inputs.roots.TrustDomain);
  const nodeAddress = inputs.gateways.find((g) => g.Service.ID === gateway.ID)?.Node.Address ?? '';
  const defaultsProtocol = entryProtocol(issues, inputs.proxyDefaults);
  const services: LinkedService[] = [];
  const targets: GatewayTarget[] = [];
  const leaves: { service: string; leaf: LeafCert }[] = [];
  for (const s of inputs.services.filter((s) => s.instances.length > 0)) {
    const resolver = s.resolver;
    const subsets = Object.keys(resolver?.Subsets ?? {}).sort();
    const requestTimeoutMs = millisOf(issues, `service-resolver/${s.name}.RequestTimeout`, resolver?.RequestTimeout);
    const tls = originationTls(s.link);
    services.push({
      name: s.name,
      namespace: DEFAULT_NAMESPACE,
      protocol: resolveProtocol(entryProtocol(issues, s.serviceDefaults), defaultsProtocol),
      intentions: intentionSources(s.intentions),
      subsets,
      connectTimeoutMs: millisOf(issues, `service-resolver/${s.name}.ConnectTimeout`, resolver?.ConnectTimeout) ?? config.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
      ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
      ...(resolver?.LoadBalancer?.Policy ? { loadBalancer: resolver.LoadBalancer } : {}),
      ...(tls ? { tls } : {}),
      autoHostRewrite: !s.link.DisableAutoHostRewrite,
    });
    const ofSubset = (subset: string) => {
      const def = resolver?.Subsets?.[subset];
      return def ? subsetNodes(s.instances, { filter: def.Filter ?? '', onlyPassing: def.OnlyPassing ?? false }) : s.instances;
    };
    // The service's own cluster holds its DefaultSubset's instances when the resolver names one (as Consul's).
    targets.push(target(s.name, '', ofSubset(resolver?.DefaultSubset ?? '')));
    for (const subset of subsets) targets.push(target(s.name, subset, ofSubset(subset)));
    leaves.push({ service: s.name, leaf: s.leaf });
  }
  return {
    kind: 'terminating-gateway',
    ...identity,
    roots: inputs.roots,
    listeners: gatewayListeners(issues, gateway, nodeAddress, config),
    defaultIntentionPolicy: inputs.defaultIntentionPolicy,
    services,
    targets,
    leaves,
    dnsDiscoveryType: config.envoy_dns_discovery_type?.toLowerCase() === 'strict_dns' ? 'STRICT_DNS' : 'LOGICAL_DNS',
    ...meshTlsSettings(inputs.mesh?.TLS),
    ...(inputs.mesh?.HTTP?.SanitizeXForwardedClientCert ? { sanitizeXForwardedClientCert: true } : {}),
    issues: issues.list,
  };
}

/**
 * The snapshot with only the linked services `allowed` admits (an ACL token's service:write):
 * the others' leaves, chains and clusters are left out, as Consul serves only the services whose
 * leaf the gateway's token may get. The same snapshot when every one is allowed.
 */
export function withLinkedServices(snap: TerminatingGatewaySnapshot, allowed: (service: string) => boolean): TerminatingGatewaySnapshot {
  if (snap.services.every((s) => allowed(s.name))) return snap;
  return {
    ...snap,
    services: snap.services.filter((s) => allowed(s.name)),
    targets: snap.targets.filter((t) => allowed(t.service)),
    leaves: snap.leaves.filter((l) => allowed(l.service)),
  };
}
