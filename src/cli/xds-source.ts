// The ADS server's resource source, composed: a sidecar's stream gets its proxycfg snapshots
// turned into resources by the generators; a proxyless gRPC client gets the shared view of every
// service. Configuration problems keep the last good set and are logged, naming every field.
import { distinctUntilChanged, map, shareReplay, type Observable } from 'rxjs';
import type { Logger } from '../core/logger.js';
import { resourceSetOf, type EncodedResource, type ResourceSet } from '../core/resources.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';
import type { ProxyConfigManager } from '../proxycfg/manager.js';
import type { ProxylessServiceSnapshot } from '../proxycfg/proxyless.js';
import type { ConnectProxySnapshot } from '../proxycfg/snapshot.js';
import type { PendingResourceSet, ProxyResourceSource } from '../server/source.js';
import { tryGenerateResources } from '../xds/generate.js';
import { encodeProxylessService } from '../xds/proxyless.js';

/** gRPC's xDS clients (grpc-js, C-core and its wrappers) name themselves "gRPC ..."; Envoy says "envoy". */
export function isProxylessNode(node: Node): boolean {
  return /^grpc/i.test(node.userAgentName);
}

export interface MeshSourceDeps {
  readonly proxies: ProxyConfigManager;
  readonly proxyless: Observable<readonly ProxylessServiceSnapshot[]>;
  readonly logger: Logger;
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
      if (isProxylessNode(node)) return proxyless$;
      const log = deps.logger.child({ proxy: nodeId });
      const generate = (snap: ConnectProxySnapshot): ResourceSet | null => {
        const result = tryGenerateResources(snap);
        if (result.ok) return result.resources;
        log.warn({ issues: result.issues }, 'configuration problems; keeping the last good configuration');
        return null;
      };
      return deps.proxies.watch(nodeId).pipe(
        // Generated when the server gets to this stream; a snapshot superseded before then never is.
        map((snap) => (snap ? () => generate(snap) : undefined)),
        // Every snapshot is a new function; this only collapses repeated `undefined`.
        distinctUntilChanged(),
      );
    },
  };
}
