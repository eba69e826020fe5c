// Which kind of xDS client a node is, decided once for the server and the composition root.
import type { Node } from '../gen/envoy/config/core/v3/base.js';

/**
 * gRPC's xDS clients (grpc-js, C-core and its wrappers) name themselves "gRPC ..."; Envoy says
 * "envoy". A gRPC client subscribes by explicit name only, never requests Secrets, and the
 * replicas of one deployment often share a bootstrap, hence one node id.
 */
export function isGrpcClient(node: Node): boolean {
  return /^grpc/i.test(node.userAgentName);
}
