// The ADS server's resource source, composed: a proxy's stream gets its proxycfg snapshots
// turned into resources by the generators (whatever its kind); a proxyless gRPC client gets the
// shared view of every service. A snapshot with configuration problems fails to generate, naming
// every field: the server keeps the stream and its last good set, logs it and shows it in the
// proxy's status. A registration of a kind that is not served waits with that reason. An upstream
// whose destination has no healthy instance is logged once (at info) while it stays so.
// With ACLs enabled every stream is checked against its token (server/acl.ts) before any set
// reaches it, and again whenever the token, its policies, roles or the registration change.
import { combineLatest, distinctUntilChanged, finalize, map, of, shareReplay, switchMap, tap, type Observable } from 'rxjs';
import type { Authorizer } from '../acl/authorizer.js';
import type { TokenResolver } from '../acl/resolve.js';
import type { ServiceInstance } from '../catalog/types.js';
import { nullLogger, type Logger } from '../core/logger.js';
import { upstreamsWithoutHealthyInstances } from '../proxycfg/inspect.js';
import { resourceSetOf, type EncodedResource, type ResourceSet } from '../core/resources.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';
import type { ProxyConfigManager, ProxyState } from '../proxycfg/manager.js';
import { withLinkedServices } from '../proxycfg/terminating-gateway.js';
import type { ProxylessServiceSnapshot } from '../proxycfg/proxyless.js';
import { isGrpcClient } from '../server/clients.js';
import { ACL_NOT_FOUND, mayHoldLeaf, proxylessMayRead, proxyStreamDenial } from '../server/acl.js';
import { Waiting, type PendingResourceSet, type ProxyResourceSource, type SourceValue, type StreamCredentials } from '../server/source.js';
import { generateResources } from '../xds/generate.js';
import { encodeProxylessService } from '../xds/proxyless.js';

export interface MeshSourceDeps {
  readonly proxies: ProxyConfigManager;
  readonly proxyless: Observable<readonly ProxylessServiceSnapshot[]>;
  readonly logger?: Logger;
  /** Whether ACLs are enforced on streams, and the tokens (default: not enforced). */
  readonly acl?: { readonly enabled: boolean; readonly resolver: TokenResolver };
  /** A proxy id's registration as it changes (what a stream's token is checked against). */
  readonly registration?: (proxyId: string) => Observable<ServiceInstance | undefined>;
}

export function meshResourceSource(deps: MeshSourceDeps): ProxyResourceSource {
  // One encoding per service snapshot object: unchanged services are not re-encoded.
  const encoded = new WeakMap<ProxylessServiceSnapshot, readonly EncodedResource[]>();
  const encodeOnce = (snap: ProxylessServiceSnapshot) => {
    let resources = encoded.get(snap);
    if (!resources) encoded.set(snap, (resources = encodeProxylessService(snap)));
    return resources;
  };
  const services$ = deps.proxyless.pipe(shareReplay({ bufferSize: 1, refCount: true }));
  const proxyless$: Observable<ResourceSet> = services$.pipe(
    map((services) => resourceSetOf(services.flatMap(encodeOnce))),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
  const logger = deps.logger ?? nullLogger;
  /** Per proxy, the upstreams logged as having no healthy instance (logged again only after they had one). */
  const emptyUpstreams = new Map<string, ReadonlySet<string>>();
  const noteUpstreams = (proxyId: string, state: ProxyState) => {
    if (state.state !== 'snapshot') return;
    const empty = upstreamsWithoutHealthyInstances(state.snapshot);
    const before = emptyUpstreams.get(proxyId) ?? new Set<string>();
    for (const u of empty) {
      if (before.has(u.upstream)) continue;
      const why = u.instances === 0 ? 'no instance is registered' : `all ${u.instances} instance(s) are critical`;
      logger.info({ proxy: proxyId, upstream: u.upstream, destination: u.destinationName, datacenter: u.datacenter }, `upstream ${u.upstream} has no healthy instance of ${u.destinationName} (${why}): calls through it fail until one passes`);
    }
    const now = new Set(empty.map((u) => u.upstream));
    for (const id of before) if (!now.has(id)) logger.info({ proxy: proxyId, upstream: id }, `upstream ${id} has a healthy instance again`);
    emptyUpstreams.set(proxyId, now);
  };
  /** Per gateway, the linked services its token may not hold the leaf of (logged when that changes). */
  const refusedLeaves = new Map<string, string>();
  const noteRefused = (proxyId: string, services: readonly string[]) => {
    const key = services.join(',');
    if ((refusedLeaves.get(proxyId) ?? '') === key) return;
    refusedLeaves.set(proxyId, key);
    if (services.length > 0) logger.warn({ proxy: proxyId, services }, `the token lacks service:write on ${services.join(', ')}: the gateway gets no certificate for them and does not serve them`);
  };
  const proxy$ = (nodeId: string, authorizer?: Authorizer): Observable<SourceValue> =>
    deps.proxies.watch(nodeId).pipe(
      map((state) => (authorizer ? narrowedByToken(state, authorizer, (services) => noteRefused(nodeId, services)) : state)),
      tap((state) => noteUpstreams(nodeId, state)),
      finalize(() => (emptyUpstreams.delete(nodeId), refusedLeaves.delete(nodeId))),
      map(toSource),
      distinctUntilChanged(),
    );
  const { acl, registration } = deps;
  if (!acl?.enabled) return { watch: (nodeId, node) => (isGrpcClient(node) ? proxyless$ : proxy$(nodeId)) };
  if (!registration) throw new Error('meshResourceSource: ACLs need the registration watch');
  return {
    watch(nodeId: string, node: Node, credentials: StreamCredentials): Observable<SourceValue> {
      const resolved$ = acl.resolver.watch(credentials.token ?? '');
      if (isGrpcClient(node)) {
        // What the token may read, re-filtered when the token or the services change.
        return combineLatest([resolved$, services$]).pipe(
          map(([resolved, services]) => (resolved ? resourceSetOf(services.filter((s) => proxylessMayRead(resolved.authorizer, s.service)).flatMap(encodeOnce)) : ACL_NOT_FOUND)),
        );
      }
      // The decision first: a set is reached only through an allowing one, and a change that
      // denies replaces the set stream with the denial (the server ends the stream).
      return combineLatest([resolved$, registration(nodeId)]).pipe(
        map(([resolved, reg]) => ({ denied: proxyStreamDenial(resolved, reg), authorizer: resolved?.authorizer })),
        distinctUntilChanged((a, b) => a.denied?.message === b.denied?.message && a.authorizer === b.authorizer),
        switchMap(({ denied, authorizer }) => (denied ? of(denied) : proxy$(nodeId, authorizer))),
      );
    },
  };
}

/**
 * A terminating gateway's snapshot without the linked services whose leaf the token may not hold
 * (reported to `refused`); any other state as it is.
 */
function narrowedByToken(state: ProxyState, authorizer: Authorizer, refused: (services: readonly string[]) => void): ProxyState {
  if (state.state !== 'snapshot' || state.snapshot.kind !== 'terminating-gateway') return state;
  const snapshot = withLinkedServices(state.snapshot, (service) => mayHoldLeaf(authorizer, service));
  refused(state.snapshot.services.filter((s) => !snapshot.services.includes(s)).map((s) => s.name));
  return snapshot === state.snapshot ? state : { state: 'snapshot', snapshot };
}

/** Why a registration that is not of a served kind gets nothing. */
function unsupportedReason(kind: string): string {
  return kind === '' ? 'the service is not a proxy (a typical service gets no xDS configuration)' : `proxy kind "${kind}" is not supported`;
}

/**
 * A proxy's state as the server takes it. A snapshot is generated when the server gets to the
 * stream, so a snapshot superseded before then never is; every snapshot is a new function, so
 * distinctUntilChanged only collapses repeated states without one.
 */
function toSource(state: ProxyState): PendingResourceSet | Waiting | undefined {
  switch (state.state) {
    case 'unregistered':
      return undefined;
    case 'unsupported':
      return waitingFor(state.kind);
    case 'snapshot':
      return () => generateResources(state.snapshot);
  }
}

const waitings = new Map<string, Waiting>();

/** One Waiting per reason, so repeats are the same value. */
function waitingFor(kind: string): Waiting {
  let w = waitings.get(kind);
  if (!w) waitings.set(kind, (w = new Waiting(unsupportedReason(kind))));
  return w;
}
