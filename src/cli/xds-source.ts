// The ADS server's resource source, composed: a proxy's stream gets its proxycfg snapshots
// turned into resources by the generators (whatever its kind); a proxyless gRPC client gets the
// shared view of every service. A snapshot with configuration problems fails to generate, naming
// every field: the server keeps the stream and its last good set, logs it and shows it in the
// proxy's status. A registration of a kind that is not served waits with that reason.
import { distinctUntilChanged, map, shareReplay, type Observable } from 'rxjs';
import { resourceSetOf, type EncodedResource, type ResourceSet } from '../core/resources.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';
import type { ProxyConfigManager, ProxyState } from '../proxycfg/manager.js';
import type { ProxylessServiceSnapshot } from '../proxycfg/proxyless.js';
import { isGrpcClient } from '../server/clients.js';
import { Waiting, type PendingResourceSet, type ProxyResourceSource } from '../server/source.js';
import { generateResources } from '../xds/generate.js';
import { encodeProxylessService } from '../xds/proxyless.js';

export interface MeshSourceDeps {
  readonly proxies: ProxyConfigManager;
  readonly proxyless: Observable<readonly ProxylessServiceSnapshot[]>;
}

export function meshResourceSource(deps: MeshSourceDeps): ProxyResourceSource {
  // One encoding per service snapshot object: unchanged services are not re-encoded.
  const encoded = new WeakMap<ProxylessServiceSnapshot, readonly EncodedResource[]>();
  const encodeOnce = (snap: ProxylessServiceSnapshot) => {
    let resources = encoded.get(snap);
    if (!resources) encoded.set(snap, (resources = encodeProxylessService(snap)));
    return resources;
  };
  const proxyless$: Observable<ResourceSet> = deps.proxyless.pipe(
    map((services) => resourceSetOf(services.flatMap(encodeOnce))),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
  return {
    watch(nodeId: string, node: Node): Observable<ResourceSet | PendingResourceSet | Waiting | undefined> {
      if (isGrpcClient(node)) return proxyless$;
      return deps.proxies.watch(nodeId).pipe(map(toSource), distinctUntilChanged());
    },
  };
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
