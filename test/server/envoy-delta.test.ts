// A real Envoy on a delta ADS stream from the server, and again on a state-of-the-world stream
// (`-ads-mode sotw`): it warms, serves traffic through the pushed listener/route/cluster/endpoints,
// keeps its endpoints across a Cluster update (the CLA resend trap), and a rejected Cluster shows
// as a NACK in the proxy's status without a resend loop.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { nullLogger } from '../../src/core/logger.js';
import type { EncodedResource } from '../../src/core/resources.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { startXdsServer, type XdsServer } from '../../src/server/server.js';
import { EnvoyProcess } from '../support/envoy.js';
import { freePort, waitFor } from '../support/wait.js';
import { FakeSource, jsonResource, resourceSet } from './fixtures.js';

const ADS = { ads: {}, resourceApiVersion: 'V3' };

function apiCluster(connectTimeout: string): EncodedResource {
  return jsonResource(TypeUrl.Cluster, 'api', { name: 'api', type: 'EDS', edsClusterConfig: { edsConfig: ADS }, connectTimeout }, ['api']);
}

function apiEndpoints(port: number): EncodedResource {
  return jsonResource(TypeUrl.Endpoint, 'api', {
    clusterName: 'api',
    endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: port } } } }] }],
  });
}

function httpListener(port: number): EncodedResource {
  return jsonResource(TypeUrl.Listener, 'http', {
    name: 'http',
    address: { socketAddress: { address: '127.0.0.1', portValue: port } },
    filterChains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typedConfig: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              statPrefix: 'http',
              rds: { routeConfigName: 'http-route', configSource: ADS },
              httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          },
        ],
      },
    ],
  }, ['http-route']);
}

const httpRoute = jsonResource(TypeUrl.Route, 'http-route', {
  name: 'http-route',
  virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'api' } }] }],
});

for (const [mode, apiType] of [
  ['delta', 'DELTA_GRPC'],
  ['state-of-the-world', 'GRPC'],
] as const) {
  describe(`a real Envoy on ${mode} ADS`, () => {
    let server: XdsServer;
    let envoy: EnvoyProcess;
    let backend: Server;
    const source = new FakeSource();
    let listenPort = 0;
    let backendPort = 0;

    before(async () => {
      backend = createServer((_req, res) => res.end('hello from api'));
      await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
      backendPort = (backend.address() as { port: number }).port;
      listenPort = await freePort();
      server = await startXdsServer({ source, logger: nullLogger });
      source.set('envoy-1', resourceSet(apiCluster('5s'), apiEndpoints(backendPort), httpListener(listenPort), httpRoute));
      envoy = await EnvoyProcess.start({
        node: { id: 'envoy-1', cluster: 'envoy-1' },
        dynamicResources: {
          adsConfig: { apiType, transportApiVersion: 'V3', grpcServices: [{ envoyGrpc: { clusterName: 'xds' } }] },
          cdsConfig: ADS,
          ldsConfig: ADS,
        },
        staticResources: {
          clusters: [
            {
              name: 'xds',
              type: 'STATIC',
              connectTimeout: '1s',
              typedExtensionProtocolOptions: {
                'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
                  '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
                  explicitHttpConfig: { http2ProtocolOptions: {} },
                },
              },
              loadAssignment: { clusterName: 'xds', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: server.port } } } }] }] },
            },
          ],
        },
      });
    });

    after(async () => {
      await envoy?.stop();
      await server?.close();
      backend?.close();
    });

    const get = async () => (await fetch(`http://127.0.0.1:${listenPort}/`)).text();

    it('warms and routes traffic through what the server pushed', async () => {
      assert.equal(await waitFor('traffic through Envoy', async () => (await get()) === 'hello from api' && 'ok'), 'ok');
      await waitFor('ACKs of every type in status', () => {
        const types = server.status.get('envoy-1')?.Streams[0]?.Types ?? {};
        return [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route].every((t) => (types[t]?.AckedVersions ?? 0) > 0);
      });
    });

    it('keeps its endpoints across a Cluster update (the ClusterLoadAssignment is resent)', async () => {
      source.set('envoy-1', resourceSet(apiCluster('7s'), apiEndpoints(backendPort), httpListener(listenPort), httpRoute));
      await waitFor('the updated cluster in config_dump', async () => (await envoy.admin('/config_dump?resource=dynamic_active_clusters')).includes('"7s"'));
      await waitFor('api healthy again', async () => (await envoy.stats('cluster\\.api\\.membership_healthy')).get('cluster.api.membership_healthy') === 1);
      assert.equal(await get(), 'hello from api');
    });

    it('records a rejected Cluster as a NACK and keeps serving the last good config', async () => {
      source.set('envoy-1', resourceSet(apiCluster('0s'), apiEndpoints(backendPort), httpListener(listenPort), httpRoute));
      const nack = await waitFor('the NACK in status', () => server.status.get('envoy-1')?.LastNack ?? undefined);
      assert.equal(nack.TypeUrl, TypeUrl.Cluster);
      assert.match(nack.Error, /connect_timeout|ConnectTimeout/i);
      await waitFor('cds.update_rejected', async () => ((await envoy.stats('cluster_manager\\.cds\\.update_rejected')).get('cluster_manager.cds.update_rejected') ?? 0) >= 1);
      assert.equal(await get(), 'hello from api');
      const rejected = (await envoy.stats('cluster_manager\\.cds\\.update_rejected')).get('cluster_manager.cds.update_rejected');
      await new Promise((resolve) => setTimeout(resolve, 500)); // bounded wait: asserting that nothing more is sent
      assert.equal((await envoy.stats('cluster_manager\\.cds\\.update_rejected')).get('cluster_manager.cds.update_rejected'), rejected, 'no resend loop');
    });
  });
}
