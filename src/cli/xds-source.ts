// The ADS server's resource source, composed: a sidecar's stream gets its proxycfg snapshots
// turned into resources by the generators; a proxyless gRPC client gets the shared view of every
// service. A snapshot with configuration problems fails to generate, naming every field: the
// server keeps the stream and its last good set, logs it and shows it in the proxy's status.
import { distinctUntilChanged, map, shareReplay, type Observable } from 'rxjs';
import { resourceSetOf, type EncodedResource, type ResourceSet } from '../core/resources.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';
import type { ProxyConfigManager } from '../proxycfg/manager.js';
import type { ProxylessServiceSnapshot } from '../proxycfg/proxyless.js';
import { isGrpcClient } from '../server/clients.js';
import type { PendingResourceSet, ProxyResourceSource } from '../server/source.js';
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
    watch(nodeId: string, node: Node): Observable<ResourceSet | PendingResourceSet | undefined> {
      if (isGrpcClient(node)) return proxyless$;
      return deps.proxies.watch(nodeId).pipe(
        // Generated when the server gets to this stream; a snapshot superseded before then never is.
        map((snap) => (snap ? () => generateResources(snap) : undefined)),
        // Every snapshot is a new function; this only collapses repeated `undefined`.
        distinctUntilChanged(),
      );
    },
  };
}
