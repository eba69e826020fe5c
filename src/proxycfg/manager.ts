// Every registered connect-proxy's snapshot stream, by proxy id, with watches shared between
// proxies. The ADS server asks `snapshots(nodeId)` per stream; two streams of one proxy share
// one pipeline.
import { distinctUntilChanged, map, of, shareReplay, switchMap, type Observable } from 'rxjs';
import { WatchCache, SharedCASource, SharedCatalogSource } from './shared.js';
import { connectProxySnapshots, type ConnectProxyDeps } from './connect-proxy.js';
import type { ConnectProxySnapshot } from './snapshot.js';

export class ProxyConfigManager {
  private readonly catalog: SharedCatalogSource;
  private readonly ca: SharedCASource;
  private readonly pipelines = new WatchCache();
  /** Combinations of watches that many proxies share (a service's inputs, a destination's). */
  private readonly combined = new WatchCache();

  constructor(private readonly deps: ConnectProxyDeps) {
    this.catalog = new SharedCatalogSource(deps.catalog);
    this.ca = new SharedCASource(deps.ca);
  }

  /** Snapshots of one proxy (completes when it is deregistered). */
  snapshots(proxyId: string): Observable<ConnectProxySnapshot> {
    return this.pipelines.get(`proxy/${proxyId}`, () => connectProxySnapshots(proxyId, { ...this.deps, catalog: this.catalog, ca: this.ca, shared: this.combined }));
  }

  /**
   * The ADS server's view (its ProxyResourceSource contract, before generation): `undefined`
   * while the proxy is not registered (or not a connect-proxy), then its snapshots; `undefined`
   * again after deregistration, and snapshots again if it comes back. Compose with the
   * generators as `watch(id).pipe(map((s) => s && (() => generateResources(s))))`: generated
   * when the server gets to the stream, and a snapshot that fails to generate keeps the stream
   * (thrown inside the observable instead, it would end it).
   */
  watch(proxyId: string): Observable<ConnectProxySnapshot | undefined> {
    return this.catalog.watchService(proxyId).pipe(
      map((s) => s?.Kind === 'connect-proxy'),
      distinctUntilChanged(),
      switchMap((registered) => (registered ? this.snapshots(proxyId) : of(undefined))),
    );
  }

  /** Ids of the registered connect-proxies, sorted. */
  connectProxyIds(): Observable<readonly string[]> {
    return this.catalog.watchProxies().pipe(
      map((all) => all.filter((s) => s.Kind === 'connect-proxy').map((s) => s.ID).sort()),
      distinctUntilChanged((a, b) => a.length === b.length && a.every((id, i) => id === b[i])),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  /** The watches open right now, by key (every one is released when no proxy needs it). */
  openWatches(): string[] {
    return [...this.catalog.openWatches(), ...this.ca.openWatches(), ...this.combined.keys()];
  }
}
