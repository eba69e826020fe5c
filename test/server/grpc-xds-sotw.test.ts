// A real proxyless gRPC client (@grpc/grpc-js-xds) on a state-of-the-world stream from the server:
// it resolves xds:///greeter through LDS -> RDS -> CDS -> EDS, ACKs each, and its RPC reaches the
// backend the ClusterLoadAssignment names.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nullLogger } from '../../src/core/logger.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { startXdsServer, type XdsServer } from '../../src/server/server.js';
import { grpcBootstrap, grpcJsXdsClient, startGreeter, type GreeterServer } from '../support/grpc-peers.js';
import { waitFor } from '../support/wait.js';
import { FakeSource, jsonResource, resourceSet } from './fixtures.js';

const ADS = { ads: {}, resourceApiVersion: 'V3' };
const ROUTER = { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

function greeterResources(backendPort: number) {
  return resourceSet(
    jsonResource(TypeUrl.Listener, 'greeter', {
      name: 'greeter',
      apiListener: {
        apiListener: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          rds: { routeConfigName: 'greeter-route', configSource: ADS },
          httpFilters: [ROUTER],
        },
      },
    }, ['greeter-route']),
    jsonResource(TypeUrl.Route, 'greeter-route', {
      name: 'greeter-route',
      virtualHosts: [{ name: 'greeter', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'greeter' } }] }],
    }),
    jsonResource(TypeUrl.Cluster, 'greeter', { name: 'greeter', type: 'EDS', edsClusterConfig: { edsConfig: ADS }, lbPolicy: 'ROUND_ROBIN' }, ['greeter']),
    jsonResource(TypeUrl.Endpoint, 'greeter', {
      clusterName: 'greeter',
      endpoints: [{ locality: { zone: 'z' }, loadBalancingWeight: 1, lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: backendPort } } } }] }],
    }),
  );
}

describe('a real proxyless gRPC client on SotW ADS', () => {
  let server: XdsServer;
  let backend: GreeterServer;
  const source = new FakeSource();

  before(async () => {
    backend = await startGreeter('backend');
    server = await startXdsServer({ source, logger: nullLogger });
    source.set('grpc-client', greeterResources(backend.port));
  });

  after(async () => {
    await backend?.close();
    await server?.close();
  });

  it('resolves xds:///greeter and reaches the backend', async () => {
    const client = await grpcJsXdsClient('xds:///greeter', grpcBootstrap(server.port, 'grpc-client'));
    try {
      assert.equal(await client.hello(), 'hello from backend');
      const types = await waitFor('four ACKed types in status', () => {
        const t = server.status.get('grpc-client')?.Streams[0]?.Types ?? {};
        return Object.keys(t).length === 4 && t;
      });
      assert.deepEqual(Object.keys(types).sort(), [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route].sort());
      assert.equal(server.status.get('grpc-client')?.LastNack, null);
    } finally {
      client.close();
    }
  });
});
