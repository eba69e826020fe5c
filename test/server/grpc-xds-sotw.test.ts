// A real proxyless gRPC client (@grpc/grpc-js-xds) on a state-of-the-world stream from the server:
// it resolves xds:///greeter through LDS -> RDS -> CDS -> EDS, ACKs each, and its RPC reaches the
// backend the ClusterLoadAssignment names.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { nullLogger } from '../../src/core/logger.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { startXdsServer, type XdsServer } from '../../src/server/server.js';
import { waitFor } from '../support/wait.js';
import { FakeSource, jsonResource, resourceSet } from './fixtures.js';

const ADS = { ads: {}, resourceApiVersion: 'V3' };
const ROUTER = { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

const echo = {
  echo: {
    path: '/switchyard.test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} satisfies ServiceDefinition;

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
  const backend = new Server();
  const source = new FakeSource();
  let backendPort = 0;

  before(async () => {
    grpcXds.register();
    backend.addService(echo, { echo: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])) });
    backendPort = await new Promise<number>((resolve, reject) => backend.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    server = await startXdsServer({ source, logger: nullLogger });
    source.set('grpc-client', greeterResources(backendPort));
  });

  after(async () => {
    backend.forceShutdown();
    await server?.close();
  });

  it('resolves xds:///greeter and reaches the backend', async () => {
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${server.port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'grpc-client', locality: {} },
    };
    const Client = makeGenericClientConstructor(echo, 'Echo');
    const client = new Client('xds:///greeter', credentials.createInsecure(), { 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) });
    try {
      const reply = await new Promise<Buffer>((resolve, reject) =>
        (client as unknown as { echo(b: Buffer, opts: object, cb: (e: Error | null, r: Buffer) => void): void }).echo(Buffer.from('hi'), { deadline: Date.now() + 15_000 }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      assert.equal(reply.toString(), 'echo:hi');
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
