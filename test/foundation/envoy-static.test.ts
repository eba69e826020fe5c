// The whole chain of the foundation: TypeScript types generated from Envoy's protos -> canonical
// JSON -> a real Envoy that validates it, runs it, and answers HTTP through it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Bootstrap } from '../../src/gen/envoy/config/bootstrap/v3/bootstrap.js';
import { SocketAddress, type Address } from '../../src/gen/envoy/config/core/v3/address.js';
import { Cluster_DiscoveryType } from '../../src/gen/envoy/config/cluster/v3/cluster.js';
import { HttpConnectionManager } from '../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { Router } from '../../src/gen/envoy/extensions/filters/http/router/v3/router.js';
import { pack, toJson } from '../../src/core/proto.js';
import { EnvoyProcess, envoyVersion, validateConfig } from '../support/envoy.js';
import { freePort } from '../support/wait.js';

function socket(address: string, port: number): Address {
  return { address: { $case: 'socketAddress', value: SocketAddress.fromPartial({ address, portSpecifier: { $case: 'portValue', value: port } }) } };
}

/** A bootstrap with one static listener answering `body` directly and one static cluster. */
function directResponseBootstrap(listenPort: number, body: string): Bootstrap {
  const hcm = HttpConnectionManager.fromPartial({
    statPrefix: 'ingress',
    routeSpecifier: {
      $case: 'routeConfig',
      value: {
        name: 'local',
        virtualHosts: [
          {
            name: 'all',
            domains: ['*'],
            routes: [
              {
                match: { pathSpecifier: { $case: 'prefix', value: '/' } },
                action: { $case: 'directResponse', value: { status: 200, body: { specifier: { $case: 'inlineString', value: body } } } },
              },
            ],
          },
        ],
      },
    },
    httpFilters: [{ name: 'envoy.filters.http.router', configType: { $case: 'typedConfig', value: pack(Router, Router.fromPartial({})) } }],
  });
  return Bootstrap.fromPartial({
    node: { id: 'foundation-test', cluster: 'foundation' },
    staticResources: {
      listeners: [
        {
          name: 'direct',
          address: socket('127.0.0.1', listenPort),
          filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', configType: { $case: 'typedConfig', value: pack(HttpConnectionManager, hcm) } }] }],
        },
      ],
      clusters: [
        {
          name: 'static_backend',
          connectTimeout: { seconds: 1 },
          clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
          loadAssignment: {
            clusterName: 'static_backend',
            endpoints: [{ lbEndpoints: [{ hostIdentifier: { $case: 'endpoint', value: { address: socket('127.0.0.1', 9) } } }] }],
          },
        },
      ],
    },
  });
}

describe('real Envoy against generated types', () => {
  before(async () => {
    console.log(`# envoy: ${await envoyVersion()}`);
  });

  it('accepts a bootstrap built from the generated types (envoy --mode validate)', async () => {
    const json = toJson(Bootstrap, directResponseBootstrap(10000, 'hello'));
    const result = await validateConfig(json);
    assert.ok(result.ok, `Envoy rejected the bootstrap:\n${result.output}`);
  });

  it('rejects an invalid bootstrap with Envoy\'s own error text', async () => {
    const bootstrap = directResponseBootstrap(10000, 'hello');
    // An EDS cluster with no eds_cluster_config and no ADS is invalid; so is a duplicate name.
    const json = toJson(Bootstrap, {
      ...bootstrap,
      staticResources: {
        ...bootstrap.staticResources!,
        clusters: [...bootstrap.staticResources!.clusters, ...bootstrap.staticResources!.clusters],
      },
    });
    const result = await validateConfig(json);
    assert.equal(result.ok, false, 'Envoy accepted a bootstrap with a duplicate cluster');
    console.log(`# envoy said: ${result.output.trim().split('\n').slice(-1)[0]}`);
    assert.match(result.output, /static_backend/);
    assert.match(result.output, /duplicate|already exists/i);
  });

  describe('a running Envoy', () => {
    let envoy: EnvoyProcess;
    let port: number;

    before(async () => {
      port = await freePort();
      envoy = await EnvoyProcess.start(toJson(Bootstrap, directResponseBootstrap(port, 'hello from a generated listener')) as Record<string, unknown>);
    });
    after(async () => envoy?.stop());

    it('answers HTTP through the generated listener', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/anything`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'hello from a generated listener');
    });

    it('reports the static cluster and listener through its admin API', async () => {
      const clusters = await envoy.admin('/clusters');
      assert.match(clusters, /static_backend::127\.0\.0\.1:9/);
      const stats = await envoy.stats('^listener_manager\\.total_listeners_active$');
      assert.equal(stats.get('listener_manager.total_listeners_active'), 1);
    });
  });
});

describe('when Envoy cannot be had', () => {
  it('a test needing it fails, saying what is missing and how to get it', async () => {
    const { spawnSync } = await import('node:child_process');
    const support = new URL('../support/envoy.js', import.meta.url).href;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(support)}); await m.envoyBinary();`], {
      env: { ...process.env, ENVOY_BIN: '/nonexistent/envoy' },
      encoding: 'utf8',
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ENVOY_BIN=\/nonexistent\/envoy does not exist: .*node scripts\/tools\.mjs envoy/);
  });
});
