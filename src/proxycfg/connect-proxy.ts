// The connect-proxy (sidecar) pipeline: a registration -> a stream of immutable snapshots.
//
//   watchService(id) ── takeWhile(registered) ── distinct ── switchMap(proxy =>
//       combineLatest(roots, leaf(service), intentions(service), default policy,
//                     proxy-defaults, service-defaults(service), mesh,
//                     upstreams: per upstream combineLatest(connect health, service-defaults))
//       ── throttleTime(window, leading + trailing)
//                                   the first change goes out at once; the rest of a burst
//                                   becomes one more at the window's end, latest wins
//       ── map(build snapshot))     so a burst costs one build per window, not one per change
//
// combineLatest is the readiness gate: nothing is emitted before roots, leaf and intentions
// (and every other watch) have produced a value. A deregistration (watchService -> undefined)
// completes the stream, which releases every watch it opened.
import { asyncScheduler, combineLatest, distinctUntilChanged, map, of, switchMap, takeWhile, throttleTime, type Observable, type SchedulerLike } from 'rxjs';
import type { ServiceInstance, Upstream } from '../catalog/types.js';
import { buildConnectProxySnapshot, type UpstreamInputs } from './resolve.js';
import type { ConnectProxySnapshot } from './snapshot.js';
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
}

export const PROXY_DEFAULTS = { kind: 'proxy-defaults', name: 'global' } as const;
export const MESH = { kind: 'mesh', name: 'mesh' } as const;
export const SERVICE_DEFAULTS = 'service-defaults';

function watchUpstream(catalog: CatalogSource, upstream: Upstream, index: number): Observable<UpstreamInputs> {
  return combineLatest([catalog.watchConnectHealth(upstream.DestinationName), catalog.watchConfigEntry(SERVICE_DEFAULTS, upstream.DestinationName)]).pipe(
    map(([nodes, serviceDefaults]) => ({ upstream, index, nodes, serviceDefaults })),
  );
}

/** Upstream watches; `of([])` when there are none, since combineLatest([]) never emits. */
function watchUpstreams(catalog: CatalogSource, proxy: ServiceInstance): Observable<readonly UpstreamInputs[]> {
  const upstreams = proxy.Proxy?.Upstreams ?? [];
  if (upstreams.length === 0) return of([]);
  return combineLatest(upstreams.map((u, i) => watchUpstream(catalog, u, i)));
}

function snapshotsOf(deps: ConnectProxyDeps, proxy: ServiceInstance): Observable<ConnectProxySnapshot> {
  const { catalog, ca } = deps;
  const service = proxy.Proxy?.DestinationServiceName ?? proxy.Service;
  return combineLatest({
    roots: ca.watchRoots(),
    leaf: ca.watchLeaf(service),
    intentions: catalog.watchIntentions(service),
    defaultIntentionPolicy: catalog.watchDefaultIntentionPolicy(),
    proxyDefaults: catalog.watchConfigEntry(PROXY_DEFAULTS.kind, PROXY_DEFAULTS.name),
    serviceDefaults: catalog.watchConfigEntry(SERVICE_DEFAULTS, service),
    mesh: catalog.watchConfigEntry(MESH.kind, MESH.name),
    upstreams: watchUpstreams(catalog, proxy),
  }).pipe(
    throttleTime(deps.coalesceMs ?? DEFAULT_COALESCE_MS, deps.scheduler ?? asyncScheduler, { leading: true, trailing: true }),
    map((p) =>
      buildConnectProxySnapshot({
        proxy,
        roots: p.roots,
        leaf: p.leaf,
        intentions: p.intentions,
        defaultIntentionPolicy: p.defaultIntentionPolicy,
        entries: { proxyDefaults: p.proxyDefaults, serviceDefaults: p.serviceDefaults, mesh: p.mesh },
        upstreams: p.upstreams,
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
