// Hand-built resources for the protocol tests: small messages encoded here, versioned by a hash
// of their bytes, never produced by the generators under test.
import { createHash } from 'node:crypto';
import { BehaviorSubject, type Observable } from 'rxjs';
import { encode, lookupType } from '../../src/core/proto.js';
import { resourceSetOf, type EncodedResource, type ResourceSet } from '../../src/core/resources.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/core/type-urls.js';
import { Cluster, Cluster_DiscoveryType } from '../../src/gen/envoy/config/cluster/v3/cluster.js';
import { ClusterLoadAssignment } from '../../src/gen/envoy/config/endpoint/v3/endpoint.js';
import { Listener } from '../../src/gen/envoy/config/listener/v3/listener.js';
import { RouteConfiguration } from '../../src/gen/envoy/config/route/v3/route.js';
import { Secret } from '../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret.js';
import type { ProxyResourceSource, SourceValue, StreamCredentials } from '../../src/server/source.js';

function resource(typeUrl: XdsTypeUrl, name: string, value: Uint8Array, children?: string[]): EncodedResource {
  const version = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return children ? { typeUrl, name, version, value, children } : { typeUrl, name, version, value };
}

/** A resource written as canonical proto JSON (Any as "@type"). */
export function jsonResource(typeUrl: XdsTypeUrl, name: string, json: unknown, children?: string[]): EncodedResource {
  const type = lookupType(typeUrl);
  return resource(typeUrl, name, type.encode(type.fromJSON(json)).finish(), children);
}

/** An EDS cluster whose ClusterLoadAssignment is named like the cluster; `timeout` varies its bytes. */
export function cluster(name: string, timeout = 5): EncodedResource {
  const msg = Cluster.fromPartial({
    name,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
    connectTimeout: { seconds: timeout, nanos: 0 },
  });
  return resource(TypeUrl.Cluster, name, encode(Cluster, msg), [name]);
}

/** A ClusterLoadAssignment with one endpoint per port. */
export function endpoints(name: string, ...ports: number[]): EncodedResource {
  const msg = ClusterLoadAssignment.fromPartial({
    clusterName: name,
    endpoints: [
      {
        loadBalancingWeight: 1,
        lbEndpoints: ports.map((port) => ({
          hostIdentifier: {
            $case: 'endpoint' as const,
            value: { address: { address: { $case: 'socketAddress' as const, value: { address: '10.0.0.1', portSpecifier: { $case: 'portValue' as const, value: port } } } } },
          },
        })),
      },
    ],
  });
  return resource(TypeUrl.Endpoint, name, encode(ClusterLoadAssignment, msg), []);
}

/** A listener on `port` whose (notional) HTTP connection manager uses RouteConfiguration `route`. */
export function listener(name: string, port: number, route: string): EncodedResource {
  const msg = Listener.fromPartial({
    name,
    address: { address: { $case: 'socketAddress', value: { address: '127.0.0.1', portSpecifier: { $case: 'portValue', value: port } } } },
  });
  return resource(TypeUrl.Listener, name, encode(Listener, msg), [route]);
}

export function route(name: string, domain = '*'): EncodedResource {
  const msg = RouteConfiguration.fromPartial({ name, virtualHosts: [{ name, domains: [domain] }] });
  return resource(TypeUrl.Route, name, encode(RouteConfiguration, msg));
}

/** A secret carrying a generic marker (stands in for a leaf certificate or the roots). */
export function secret(name: string, marker = name): EncodedResource {
  const msg = Secret.fromPartial({ name, type: { $case: 'genericSecret', value: { secret: { specifier: { $case: 'inlineString', value: marker } } } } });
  return resource(TypeUrl.Secret, name, encode(Secret, msg));
}

export function resourceSet(...resources: EncodedResource[]): ResourceSet {
  return resourceSetOf(resources);
}

/** A source driven by the test: per proxy a subject, undefined until set. */
export class FakeSource implements ProxyResourceSource {
  private readonly subjects = new Map<string, BehaviorSubject<SourceValue>>();
  watchers = 0;
  /** What each stream presented, in the order they were watched. */
  readonly credentials: StreamCredentials[] = [];

  watch(nodeId: string, _node?: unknown, credentials: StreamCredentials = { token: undefined }): Observable<SourceValue> {
    this.watchers++;
    this.credentials.push(credentials);
    return this.subject(nodeId).asObservable();
  }

  set(nodeId: string, set: SourceValue): void {
    this.subject(nodeId).next(set);
  }

  complete(nodeId: string): void {
    this.subject(nodeId).complete();
  }

  fail(nodeId: string, err: Error): void {
    this.subject(nodeId).error(err);
  }

  private subject(nodeId: string): BehaviorSubject<SourceValue> {
    let s = this.subjects.get(nodeId);
    if (!s) this.subjects.set(nodeId, (s = new BehaviorSubject<SourceValue>(undefined)));
    return s;
  }
}
