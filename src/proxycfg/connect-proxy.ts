// The connect-proxy (sidecar) pipeline: a registration -> a stream of immutable snapshots.
//
//   watchService(id) ── takeWhile(registered) ── distinct ── switchMap(proxy =>
//       combineLatest(service inputs: combineLatest(roots, leaf(service), intentions(service),
//                                       default policy, proxy-defaults, service-defaults(service),
//                                       mesh)                              shared per service
//                     upstreams: per upstream combineLatest(connect health,
//                                       service-defaults)                  shared per destination
//       ── throttleTime(window, leading + trailing)
//                                   the first change goes out at once; the rest of a burst
//                                   becomes one more at the window's end, latest wins
//       ── map(build snapshot))     so a burst costs one build per window, not one per change
//
// combineLatest is the readiness gate: nothing is emitted before roots, leaf and intentions
// (and every other watch) have produced a value. A deregistration (watchService -> undefined)
// completes the stream, which releases every watch it opened.
import { asyncScheduler, combineLatest, distinctUntilChanged, map, of, switchMap, takeWhile, throttleTime, type Observable, type SchedulerLike } from 'rxjs';
import type { ServiceInstance } from '../catalog/types.js';
import { buildConnectProxySnapshot, type UpstreamInputs } from './resolve.js';
import type { ConnectProxySnapshot } from './snapshot.js';
import type { WatchCache } from './shared.js';
import type { CASource, CatalogSource } from './sources.js';

export const DEFAULT_COALESCE_MS = 200;

export interface ConnectProxyDeps {
  readonly catalog: CatalogSource;
  readonly ca: CASource;
  /**
   * At most one snapshot per window (200 ms by default): a change after a quiet window is sent at
   * once, and what follows it within the window is coalesced into one snapshot at its end.
   */
  readonly coalesceMs?: number;
  /** For virtual time in tests; TestScheduler.run() patches the default too. */
  readonly scheduler?: SchedulerLike;
  /** Where combinations of watches common to many proxies are shared (ProxyConfigManager gives one). */
  readonly shared?: WatchCache;
}

export const PROXY_DEFAULTS = { kind: 'proxy-defaults', name: 'global' } as const;
export const MESH = { kind: 'mesh', name: 'mesh' } as const;
export const SERVICE_DEFAULTS = 'service-defaults';

/** The same observable for every caller of `key` while it has subscribers, when a cache is given. */
function sharedBy<T>(deps: ConnectProxyDeps, key: string, make: () => Observable<T>): Observable<T> {
  return deps.shared ? deps.shared.get(key, make) : make();
}

/**
 * What every proxy of `service` is built from besides its registration and upstreams, combined
 * once per service: a proxy holds one subscription for all of it, not seven.
 */
function serviceInputs(deps: ConnectProxyDeps, service: string) {
  const { catalog, ca } = deps;
  return sharedBy(deps, `service-inputs/${service}`, () =>
    combineLatest({
      roots: ca.watchRoots(),
      leaf: ca.watchLeaf(service),
      intentions: catalog.watchIntentions(service),
      defaultIntentionPolicy: catalog.watchDefaultIntentionPolicy(),
      proxyDefaults: catalog.watchConfigEntry(PROXY_DEFAULTS.kind, PROXY_DEFAULTS.name),
      serviceDefaults: catalog.watchConfigEntry(SERVICE_DEFAULTS, service),
      mesh: catalog.watchConfigEntry(MESH.kind, MESH.name),
    }),
  );
}

/** An upstream destination's sidecars and service-defaults, combined once per destination. */
function destinationInputs(deps: ConnectProxyDeps, destination: string) {
  return sharedBy(deps, `destination-inputs/${destination}`, () =>
    combineLatest([deps.catalog.watchConnectHealth(destination), deps.catalog.watchConfigEntry(SERVICE_DEFAULTS, destination)]),
  );
}

/** Upstream inputs, in the registration's order; `of([])` when there are none, since combineLatest([]) never emits. */
function watchUpstreams(deps: ConnectProxyDeps, proxy: ServiceInstance): Observable<readonly UpstreamInputs[]> {
  const upstreams = proxy.Proxy?.Upstreams ?? [];
  if (upstreams.length === 0) return of([]);
  return combineLatest(upstreams.map((u) => destinationInputs(deps, u.DestinationName))).pipe(
    map((inputs) => upstreams.map((upstream, index): UpstreamInputs => ({ upstream, index, nodes: inputs[index]![0], serviceDefaults: inputs[index]![1] }))),
  );
}

function snapshotsOf(deps: ConnectProxyDeps, proxy: ServiceInstance): Observable<ConnectProxySnapshot> {
  const service = proxy.Proxy?.DestinationServiceName ?? proxy.Service;
  return combineLatest([serviceInputs(deps, service), watchUpstreams(deps, proxy)]).pipe(
    throttleTime(deps.coalesceMs ?? DEFAULT_COALESCE_MS, deps.scheduler ?? asyncScheduler, { leading: true, trailing: true }),
    map(([p, upstreams]) =>
      buildConnectProxySnapshot({
        proxy,
        roots: p.roots,
        leaf: p.leaf,
        intentions: p.intentions,
        defaultIntentionPolicy: p.defaultIntentionPolicy,
        entries: { proxyDefaults: p.proxyDefaults, serviceDefaults: p.serviceDefaults, mesh: p.mesh },
        upstreams,
      }),
    ),
  );
}

/**
 * Snapshots of one connect-proxy registration, coalesced; completes when it is deregistered (or
 * is not a connect-proxy). Pass shared sources (shared.ts) so proxies share their watches.
 */
export function connectProxySnapshots(proxyId: string, deps: ConnectProxyDeps): Observable<ConnectProxySnapshot> {
  return deps.catalog.watchService(proxyId).pipe(
    distinctUntilChanged(sameRegistration),
    // switchMap only completes once its inner does, and the watches never do: deregistration
    // is turned into a value that ends the stream (takeWhile), which unsubscribes every watch.
    switchMap((proxy) => (proxy?.Kind === 'connect-proxy' ? snapshotsOf(deps, proxy) : of(DEREGISTERED))),
    takeWhile((s): s is ConnectProxySnapshot => s !== DEREGISTERED),
  );
}

const DEREGISTERED = Symbol('deregistered');

/** A registration is replaced as a whole; its ModifyIndex changes with every write. */
function sameRegistration(a: ServiceInstance | undefined, b: ServiceInstance | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.ID === b.ID && a.ModifyIndex === b.ModifyIndex && a.ModifyIndex !== 0;
}
