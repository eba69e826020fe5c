// The server's input port: desired resources per proxy. The composition root implements it
// (proxycfg snapshots -> xds generators); the server never reaches into proxycfg.
import type { Observable } from 'rxjs';
import type { ResourceSet } from '../core/resources.js';

export interface ProxyResourceSource {
  /**
   * Desired resources of the proxy whose id is `nodeId` (Envoy's node.id). Emits a new
   * ResourceSet on every change, and `undefined` while the proxy is not registered.
   *
   * - A stream whose proxy is not registered yet waits, sending nothing, until a set arrives.
   * - `undefined` after a set (the proxy was deregistered) ends the stream with Aborted; the
   *   client keeps its last configuration and, on reconnect, waits until the proxy is back.
   * - Completing ends the stream with Aborted (source gone); an error ends it with Unavailable
   *   (generation failed).
   */
  watch(nodeId: string): Observable<ResourceSet | undefined>;
}
