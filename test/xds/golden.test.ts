// Golden tests (Consul agent/xds/golden_test.go style): a table of scenarios under fixtures/,
// each replayed through catalog -> proxycfg -> generators; every resource type and the
// bootstrap compared with its canonical-JSON golden, and the whole lot accepted by a real
// Envoy (`envoy --mode validate`).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { firstValueFrom } from 'rxjs';
import { toJson } from '../../src/core/proto.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { Bootstrap } from '../../src/gen/envoy/config/bootstrap/v3/bootstrap.js';
import { ProxyConfigManager } from '../../src/proxycfg/manager.js';
import { generateBootstrap, type BootstrapOptions } from '../../src/xds/bootstrap.js';
import { generateResources } from '../../src/xds/generate.js';
import { validateConfig } from '../support/envoy.js';
import { fixedCASource } from '../support/fixed-ca.js';
import { assertGolden } from '../support/golden.js';
import { FIXTURES, loadScenario, scenarioNames } from '../support/scenario.js';
import { scenarioCatalog } from '../support/scenario-catalog.js';
import { resourcesJson, staticEnvoyConfig } from '../support/static-envoy-config.js';

const GOLDEN_FILES = [
  ['clusters.json', TypeUrl.Cluster],
  ['endpoints.json', TypeUrl.Endpoint],
  ['listeners.json', TypeUrl.Listener],
  ['routes.json', TypeUrl.Route],
  ['secrets.json', TypeUrl.Secret],
] as const;

/** Every scenario the table must hold (a missing folder fails, not skips). */
const REQUIRED = [
  'tcp-defaults',
  'http-public-listener',
  'http2-public-listener',
  'grpc-public-listener',
  'tcp-upstream',
  'http-upstream',
  'several-upstreams',
  'intentions-default-allow',
  'intentions-default-deny',
  'intentions-wildcard-sources',
  'custom-bind-address-port',
  'custom-local-app-address',
  'unhealthy-endpoints',
  'mixed-health-endpoints',
  'no-upstreams',
  'upstream-without-instances',
  'ipv6-addresses',
  'mesh-gateway',
  'mesh-gateway-local-only',
  'mesh-gateway-tagged-addresses',
  'mesh-gateway-service-without-instances',
  'cross-dc-upstream-mesh-gateway-local',
  'cross-dc-upstream-mesh-gateway-remote',
  'cross-dc-upstream-mesh-gateway-none',
  // The discovery chain, named after Consul's agent/xds/testdata cases they correspond to.
  'connect-proxy-with-http-chain',
  'connect-proxy-with-grpc-chain',
  'connect-proxy-with-tcp-chain',
  'connect-proxy-with-chain-and-router',
  'connect-proxy-with-chain-and-router-header-manip',
  'connect-proxy-with-chain-and-splitter',
  'connect-proxy-with-resolver-subsets',
  'connect-proxy-with-chain-and-redirect',
  'connect-proxy-splitter-with-resolver-redirect',
  'connect-proxy-with-chain-and-failover',
  'connect-proxy-with-http-chain-and-failover',
  'connect-proxy-with-chain-and-failover-to-datacenter',
  'connect-proxy-lb-in-resolver',
  'connect-proxy-resolver-with-lb',
  'connect-proxy-route-to-lb-resolver',
  'connect-proxy-with-grpc-router',
  'connect-proxy-with-chain-and-overrides',
  'connect-proxy-with-tcp-chain-failover-through-remote-gateway',
  'connect-proxy-with-tcp-chain-failover-through-local-gateway',
  'mesh-gateway-service-subsets',
  // L7 intentions, named after Consul's agent/xds/testdata/rbac cases (their --httpfilter goldens).
  'rbac-default-deny-path-allow',
  'rbac-default-allow-path-deny',
  'rbac-default-allow-two-path-deny-and-path-allow',
  'rbac-default-deny-single-intention-with-kitchen-sink-perms',
  'rbac-default-deny-mixed-precedence',
  'rbac-default-allow-deny-all-and-path-allow',
  // Sidecar details (Consul's agent/xds/testdata/listeners cases).
  'http-listener-with-timeouts',
  // Consul's agent/xds/testdata/clusters cases.
  'custom-limits',
  'custom-limits-max-connections-only',
  'custom-passive-healthcheck',
  'custom-max-inbound-connections',
  // The bootstrap's RE2 limit (Consul's re2.max_program_size.error_level): an 89+ character source name.
  'intentions-long-source-name',
  // proxy-defaults AccessLogs (Consul's listeners cases).
  'access-logs-defaults',
  'access-logs-json-file',
  'access-logs-text-stderr-disablelistenerlogs',
  // The mesh entry's TLS versions and cipher suites.
  'connect-proxy-with-tls-incoming-min-version',
  'connect-proxy-with-tls-incoming-max-version',
  'connect-proxy-with-tls-incoming-cipher-suites',
  'connect-proxy-with-tls-outgoing-min-version',
  'connect-proxy-with-tls-outgoing-max-version',
  'connect-proxy-with-tls-outgoing-cipher-suites',
  'http-public-listener-no-xfcc',
  'custom-timeouts',
  // Consul's listeners cases for the service-defaults and proxy fields that now take effect.
  'listener-balance-inbound-connections',
  'listener-balance-outbound-connections-bind-port',
  'expose-paths-local-app-paths',
  'expose-paths-new-cluster-http2',
  // Expose.Checks (Consul's listeners expose-checks cases): check paths on ports from 21500, loopback and the proxy's address only.
  'expose-checks',
  'expose-checks-grpc',
  'connect-proxy-upstream-defaults',
  // Terminating gateways (Consul's agent/xds/testdata terminating-gateway cases).
  'terminating-gateway',
  'terminating-gateway-no-services',
  'terminating-gateway-service-subsets',
  'terminating-gateway-hostname-service-subsets',
  'terminating-gateway-lb-config',
  'terminating-gateway-sni',
  'terminating-gateway-http2-upstream',
  'terminating-gateway-custom-and-tagged-addresses',
  // Ingress gateways (Consul's agent/xds/testdata ingress-* cases).
  'ingress-gateway',
  'ingress-gateway-nil-config-entry',
  'ingress-http-multiple-services',
  'ingress-grpc-multiple-services',
  'ingress-with-tls-listener',
  'ingress-with-tls-listener-cipher-suites',
  'ingress-with-sds-listener-level',
  'ingress-with-sds-listener-level-wildcard',
  'ingress-with-sds-service-level-mixed-tls',
  'ingress-with-chain',
  'ingress-with-chain-and-splitter',
  'ingress-with-chain-and-router',
  'ingress-lb-in-resolver',
  'ingress-with-service-max-connections',
  'ingress-with-defaults-service-max-connections',
];

async function generateScenario(name: string) {
  const scenario = loadScenario(name);
  const catalog = await scenarioCatalog(scenario);
  const manager = new ProxyConfigManager({ catalog: catalog.source, ca: fixedCASource(), coalesceMs: 0 });
  const snapshot = await firstValueFrom(manager.snapshots(scenario.proxy)).finally(() => catalog.close());
  assert.deepEqual(snapshot.issues, [], `scenario ${name} has configuration issues`);
  assert.deepEqual(manager.openWatches(), [], 'watches left open after the first snapshot was taken');
  const resources = generateResources(snapshot);
  const options: BootstrapOptions = {
    proxyId: snapshot.proxyId,
    service: snapshot.service,
    datacenter: snapshot.datacenter,
    xdsAddress: '127.0.0.1',
    xdsPort: 8502,
    ...(scenario.bootstrap ?? {}),
  };
  const bootstrap = toJson(Bootstrap, generateBootstrap(options)) as Record<string, unknown>;
  return { resources, bootstrap };
}

describe('xDS golden files', () => {
  const names = scenarioNames();

  it('has every required scenario', () => {
    assert.deepEqual(REQUIRED.filter((r) => !names.includes(r)), []);
    assert.ok(names.length >= 15);
  });

  for (const name of names) {
    it(`${name}: matches its goldens and a real Envoy accepts it`, async () => {
      const { resources, bootstrap } = await generateScenario(name);
      for (const [file, typeUrl] of GOLDEN_FILES) assertGolden(name, file, resourcesJson(resources, typeUrl));
      assertGolden(name, 'bootstrap.json', bootstrap);
      // Relative file names (a terminating gateway's CAFile, CertFile, KeyFile) name the fixed test certificates.
      const result = await validateConfig(staticEnvoyConfig(bootstrap, resources), join(FIXTURES, 'certs'));
      assert.ok(result.ok, `Envoy rejected scenario ${name}:\n${result.output}`);
    });
  }
});
