// One ClusterLoadAssignment per chain target (named by its cluster's SNI). Health comes from the catalog's checks
// (critical -> UNHEALTHY); the single locality carries a weight because gRPC clients drop a
// locality without load_balancing_weight.
import { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint.js';
import { HealthStatus } from '../gen/envoy/config/core/v3/health_check.js';
import type { HealthStatus as CatalogHealth } from '../catalog/types.js';
import type { UpstreamEndpoint } from '../proxycfg/snapshot.js';
import { socketAddress } from './address.js';

/** Passing and warning instances take traffic, as in Consul; critical ones do not. */
export function envoyHealth(status: CatalogHealth): HealthStatus {
  return status === 'critical' ? HealthStatus.UNHEALTHY : HealthStatus.HEALTHY;
}

/** The assignment of `clusterName`: one locality with every endpoint (none when there are none). */
export function clusterLoadAssignment(clusterName: string, endpoints: readonly UpstreamEndpoint[]): ClusterLoadAssignment {
  return ClusterLoadAssignment.fromPartial({
    clusterName,
    endpoints:
      endpoints.length === 0
        ? []
        : [
            {
              loadBalancingWeight: 1,
              lbEndpoints: endpoints.map((e) => ({
                hostIdentifier: { $case: 'endpoint' as const, value: { address: socketAddress(e.address, e.port) } },
                healthStatus: envoyHealth(e.health),
                loadBalancingWeight: 1,
              })),
            },
          ],
  });
}
