// The table of proxy kinds: for every registration `Kind` Switchyard configures, the module that
// turns a registration into that kind's snapshots. One row per kind, each a typed pipeline of its
// own; the manager picks the row by the registration's Kind, so adding a kind is adding a row
// (and its resource table in src/xds). A registration of any other kind (a typical service, or a
// gateway not served yet) gets an explicit state instead of a silent stream.
import { asapScheduler, asyncScheduler, auditTime, connect, map, merge, skip, take, throttleTime, type MonoTypeOperatorFunction, type Observable, type SchedulerLike } from 'rxjs';
import type { ServiceInstance, ServiceKind } from '../catalog/types.js';
import { buildConnectProxySnapshot, connectProxyInputs } from './connect-proxy.js';
import { buildMeshGatewaySnapshot, meshGatewayInputs } from './mesh-gateway.js';
import { buildTerminatingGatewaySnapshot, terminatingGatewayInputs } from './terminating-gateway.js';
import { buildIngressGatewaySnapshot, ingressGatewayInputs } from './ingress-gateway.js';
import type { ProxyDeps } from './resolve.js';
import type { ProxyKind, ProxySnapshot, SnapshotOf } from './snapshot.js';

export const DEFAULT_COALESCE_MS = 200;

export interface PipelineDeps extends ProxyDeps {
  /**
   * At most one snapshot per window (200 ms by default): a change after a quiet window is sent at
   * once, and what follows it within the window is coalesced into one snapshot at its end.
   */
  readonly coalesceMs?: number;
  /** For virtual time in tests; TestScheduler.run() patches the default too. */
  readonly scheduler?: SchedulerLike;
}

/**
 * One kind's module: everything a registration of that kind is built from, as one stream of
 * inputs (hot, never completing), and the pure build of a snapshot from them.
 */
export interface ProxyKindModule<K extends ProxyKind, I> {
  readonly kind: K;
  inputs(registration: ServiceInstance, deps: ProxyDeps): Observable<I>;
  build(inputs: I): SnapshotOf<K>;
}

/** A row of the table, its inputs' type kept inside it. */
export interface KindRow<K extends ProxyKind> {
  readonly kind: K;
  snapshots(registration: ServiceInstance, deps: PipelineDeps): Observable<SnapshotOf<K>>;
}

/** The first value at once; every later one at the end of its turn, the latest of the turn. */
function changesAtEndOfTurn<T>(scheduler: SchedulerLike): MonoTypeOperatorFunction<T> {
  return (source) => source.pipe(connect((shared) => merge(shared.pipe(take(1)), shared.pipe(skip(1), auditTime(0, scheduler)))));
}

/**
 * The row of a kind's module. Its snapshots are coalesced before they are built: the first
 * change after a quiet window goes out at once; the rest of a burst becomes one more at the
 * window's end, latest wins, so a burst costs one build per window, not one per change.
 *
 * "At once" is at the end of the current turn (a microtask; the same virtual frame in tests):
 * one write reaches a proxy's inputs as several changes in a row (a proxy-defaults write
 * recompiles the chain of every upstream, and the proxy's own protocol), and a leading snapshot
 * taken at the first of them held only part of the write. Every proxy then got that partial
 * configuration pushed and, a window later, the whole: two generations, pushes and rounds of
 * ACKs per proxy for one change. The first snapshot (a stream subscribing) is not deferred: it
 * is built in the server's slice that opened the stream; deferred, the snapshots of every stream
 * a slice opened were built in one microtask after it, holding the event loop for seconds when
 * 10,000 streams reconnect.
 */
function row<K extends ProxyKind, I>(module: ProxyKindModule<K, I>): KindRow<K> {
  return {
    kind: module.kind,
    snapshots: (registration, deps) =>
      module.inputs(registration, deps).pipe(
        changesAtEndOfTurn(deps.scheduler ?? asapScheduler),
        throttleTime(deps.coalesceMs ?? DEFAULT_COALESCE_MS, deps.scheduler ?? asyncScheduler, { leading: true, trailing: true }),
        map((inputs) => module.build(inputs)),
      ),
  };
}

export const PROXY_KINDS: { readonly [K in ProxyKind]: KindRow<K> } = {
  'connect-proxy': row({ kind: 'connect-proxy', inputs: connectProxyInputs, build: buildConnectProxySnapshot }),
  'mesh-gateway': row({ kind: 'mesh-gateway', inputs: meshGatewayInputs, build: buildMeshGatewaySnapshot }),
  'terminating-gateway': row({ kind: 'terminating-gateway', inputs: terminatingGatewayInputs, build: buildTerminatingGatewaySnapshot }),
  'ingress-gateway': row({ kind: 'ingress-gateway', inputs: ingressGatewayInputs, build: buildIngressGatewaySnapshot }),
};

/** Any kind's row, as the manager uses it (the registration's Kind picks it). */
export interface AnyKindRow {
  readonly kind: ProxyKind;
  snapshots(registration: ServiceInstance, deps: PipelineDeps): Observable<ProxySnapshot>;
}

/** The row serving a registration's kind, if Switchyard serves it. */
export function kindRow(kind: ServiceKind): AnyKindRow | undefined {
  return Object.hasOwn(PROXY_KINDS, kind) ? PROXY_KINDS[kind as ProxyKind] : undefined;
}
