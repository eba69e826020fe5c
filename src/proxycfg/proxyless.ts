// What proxyless gRPC clients see: every service with typical instances, each with its own
// instances and health, dialable as `xds:///<service>`. One view shared by every proxyless
// client; a change to one service re-emits only that service's snapshot object (the others
// are the same objects), so consumers can memoise per service.
import { isIP } from 'node:net';
import { combineLatest, distinctUntilChanged, map, Observable, of, shareReplay, type OperatorFunction, type Subscription } from 'rxjs';
import type { CheckServiceNode } from '../catalog/types.js';
import { aggregateStatus } from '../catalog/types.js';
import { WatchCache } from './shared.js';
import type { CASource } from './sources.js';

export interface ProxylessCatalog {
  watchServiceNames(): Observable<readonly string[]>;
  watchServiceHealth(service: string): Observable<readonly CheckServiceNode[]>;
}

export interface ProxylessInstance {
  readonly address: string;
  readonly port: number;
  /** Not critical (passing or warning), as for sidecar upstreams. */
  readonly healthy: boolean;
}

export interface ProxylessServiceSnapshot {
  readonly service: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly trustDomain: string;
  readonly instances: readonly ProxylessInstance[];
}

/**
 * Instances gRPC can dial. A service may be registered at a host name (as in Consul), but an
 * EDS endpoint must be an IP: gRPC would reject the service's whole ClusterLoadAssignment, so
 * such instances are left out and the others still serve.
 */
function instancesOf(nodes: readonly CheckServiceNode[]): ProxylessInstance[] {
  return nodes
    .map((n) => ({ address: n.Service.Address || n.Node.Address, port: n.Service.Port, healthy: aggregateStatus(n.Checks) !== 'critical' }))
    .filter((i) => isIP(i.address) !== 0)
    .sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
}

function sameInstances(a: readonly ProxylessInstance[], b: readonly ProxylessInstance[]): boolean {
  return a.length === b.length && a.every((x, i) => x.address === b[i]?.address && x.port === b[i]?.port && x.healthy === b[i]?.healthy);
}

export function proxylessSnapshots(catalog: ProxylessCatalog, ca: CASource, opts: { readonly datacenter: string; readonly namespace?: string }): Observable<readonly ProxylessServiceSnapshot[]> {
  const perService = new WatchCache();
  const trustDomain$ = ca.watchRoots().pipe(map((r) => r.TrustDomain), distinctUntilChanged());
  const serviceView = (service: string, trustDomain: string) =>
    perService.get(`${trustDomain}/${service}`, () =>
      catalog.watchServiceHealth(service).pipe(
        map(instancesOf),
        distinctUntilChanged(sameInstances),
        map((instances): ProxylessServiceSnapshot => ({ service, namespace: opts.namespace ?? 'default', datacenter: opts.datacenter, trustDomain, instances })),
      ),
    );
  return combineLatest([trustDomain$, catalog.watchServiceNames()]).pipe(
    switchMapKeepingShared(([td, names]) => (names.length === 0 ? of([]) : combineLatest(names.map((n) => serviceView(n, td))))),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
}

/**
 * switchMap, except that the new inner observable is subscribed before the previous one is
 * released. switchMap unsubscribes first, which drops every shared per-service view to zero
 * subscribers: each one would be torn down and re-opened (and each service re-encoded, since its
 * snapshot is a new object) whenever any service is added or removed.
 */
function switchMapKeepingShared<T, R>(project: (value: T) => Observable<R>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let inner: Subscription | undefined;
      let generation = 0;
      let innerActive = false;
      let outerDone = false;
      const outer = source.subscribe({
        next: (value) => {
          const mine = ++generation;
          const previous = inner;
          innerActive = true;
          inner = project(value).subscribe({
            next: (r) => subscriber.next(r),
            error: (err: unknown) => subscriber.error(err),
            complete: () => {
              if (mine !== generation) return;
              innerActive = false;
              if (outerDone) subscriber.complete();
            },
          });
          previous?.unsubscribe();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          outerDone = true;
          if (!innerActive) subscriber.complete();
        },
      });
      return () => {
        outer.unsubscribe();
        inner?.unsubscribe();
      };
    });
}
