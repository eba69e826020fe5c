// Every registered proxy's snapshot stream, by proxy id, with watches shared between proxies.
// The ADS server asks `watch(nodeId)` per stream; two streams of one proxy share one pipeline.
// The registration's Kind picks the pipeline from the kinds table (kinds.ts).
import { distinctUntilChanged, map, of, shareReplay, switchMap, takeWhile, type Observable } from 'rxjs';
import type { ServiceInstance, ServiceKind } from '../catalog/types.js';
import { kindRow, PROXY_KINDS, type PipelineDeps } from './kinds.js';
import { WatchCache, SharedCASource, SharedCatalogSource } from './shared.js';
import type { ProxySnapshot } from './snapshot.js';

/** What a proxy id stands for right now. */
export type ProxyState =
  | { readonly state: 'unregistered' }
  /** Registered, but not as a kind Switchyard configures (a typical service, a gateway not served yet). */
  | { readonly state: 'unsupported'; readonly kind: ServiceKind }
  | { readonly state: 'snapshot'; readonly snapshot: ProxySnapshot };

const UNREGISTERED: ProxyState = { state: 'unregistered' };

export class ProxyConfigManager {
  private readonly catalog: SharedCatalogSource;
  private readonly ca: SharedCASource;
  private readonly pipelines = new WatchCache();
  /** Combinations of watches that many proxies share (a service's inputs, a destination's). */
  private readonly combined = new WatchCache();

  constructor(private readonly deps: PipelineDeps) {
    this.catalog = new SharedCatalogSource(deps.catalog);
    this.ca = new SharedCASource(deps.ca);
  }

  /**
   * Snapshots of one proxy, of whatever served kind it is registered as; completes when it is
   * deregistered or re-registered as another kind (or is not of a served kind).
   */
  snapshots(proxyId: string): Observable<ProxySnapshot> {
    const deps: PipelineDeps = { ...this.deps, catalog: this.catalog, ca: this.ca, shared: this.combined };
    return this.pipelines.get(`proxy/${proxyId}`, () => proxySnapshots(proxyId, deps));
  }

  /**
   * The state of a proxy id, for the ADS server: unregistered, registered as a kind that is not
   * served, or its snapshots; and again as it changes (deregistered, back, re-registered).
   */
  watch(proxyId: string): Observable<ProxyState> {
    return this.catalog.watchService(proxyId).pipe(
      map((registration) => registration?.Kind),
      distinctUntilChanged(),
      switchMap((kind): Observable<ProxyState> => {
        if (kind === undefined) return of(UNREGISTERED);
        if (!kindRow(kind)) return of({ state: 'unsupported', kind });
        return this.snapshots(proxyId).pipe(map((snapshot) => ({ state: 'snapshot', snapshot })));
      }),
    );
  }

  /** Ids of the registered proxies of every served kind, sorted. */
  proxyIds(): Observable<readonly string[]> {
    return this.catalog.watchProxies().pipe(
      map((all) => all.filter((s) => Object.hasOwn(PROXY_KINDS, s.Kind)).map((s) => s.ID).sort()),
      distinctUntilChanged((a, b) => a.length === b.length && a.every((id, i) => id === b[i])),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  /** The watches open right now, by key (every one is released when no proxy needs it). */
  openWatches(): string[] {
    return [...this.catalog.openWatches(), ...this.ca.openWatches(), ...this.combined.keys()];
  }
}

const END = Symbol('end');

/**
 * Snapshots of one proxy registration, by the kinds table, coalesced; completes when it is
 * deregistered or re-registered as another kind (or is not of a served kind). Pass shared
 * sources (shared.ts) so proxies share their watches, as the manager does.
 */
export function proxySnapshots(proxyId: string, deps: PipelineDeps): Observable<ProxySnapshot> {
  let kind: ServiceKind | undefined;
  return deps.catalog.watchService(proxyId).pipe(
    distinctUntilChanged(sameRegistration),
    // switchMap only completes once its inner does, and the watches never do: the end is turned
    // into a value that ends the stream (takeWhile), which unsubscribes every watch.
    switchMap((registration) => {
      const row = registration && kindRow(registration.Kind);
      if (!row || (kind !== undefined && registration.Kind !== kind)) return of(END);
      kind = registration.Kind;
      return row.snapshots(registration, deps);
    }),
    takeWhile((s): s is ProxySnapshot => s !== END),
  );
}

/** A registration is replaced as a whole; its ModifyIndex changes with every write. */
function sameRegistration(a: ServiceInstance | undefined, b: ServiceInstance | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.ID === b.ID && a.ModifyIndex === b.ModifyIndex && a.ModifyIndex !== 0;
}
