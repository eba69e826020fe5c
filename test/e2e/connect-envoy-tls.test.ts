// A real Envoy reaching Switchyard's xDS port over TLS only: the agent serves no plaintext gRPC
// (-grpc-port -1) and a TLS one with the certificate it issues itself; `connect envoy` without
// -grpc-addr reads the TLS port from /v1/agent/self, trusts the agent's CA roots, and the Envoy it
// starts connects, gets its listeners and its leaf. The bootstrap's xds cluster carries the TLS
// context, and an https:// -http-addr with -ca-file (or $CONSUL_CACERT) reaches the HTTPS port.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, BIN } from '../support/agent-process.js';
import { spawnConnectEnvoy } from '../support/connect-envoy.js';
import { freePort, waitFor } from '../support/wait.js';

describe('connect envoy over TLS gRPC', () => {
  let agent: AgentProcess;
  let tlsPort: number;
  let httpsPort: number;

  before(async () => {
    tlsPort = await freePort();
    httpsPort = await freePort();
    agent = await AgentProcess.start({ extraArgs: ['-grpc-port', '-1', '-grpc-tls-port', String(tlsPort), '-https-port', String(httpsPort)] });
    await agent.api.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: await freePort(), Connect: { SidecarService: { Port: await freePort() } } });
  });
  after(async () => agent?.dispose());

  it('bootstraps a TLS xds cluster from the TLS port the agent reports, over HTTPS with -ca-file and $CONSUL_CACERT', () => {
    const ca = join(agent.dataDir, 'tls', 'ca.pem');
    const viaFlag = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-bootstrap', '-http-addr', `https://localhost:${httpsPort}`, '-ca-file', ca], { encoding: 'utf8' });
    assert.equal(viaFlag.status, 0, viaFlag.stderr);
    const viaEnv = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-bootstrap'], { encoding: 'utf8', env: { ...process.env, CONSUL_HTTP_ADDR: `https://127.0.0.1:${httpsPort}`, CONSUL_CACERT: ca } });
    assert.equal(viaEnv.status, 0, viaEnv.stderr);
    const viaGrpcAddr = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-bootstrap', '-http-addr', agent.httpAddr, '-grpc-addr', `https://127.0.0.1:${tlsPort}`], { encoding: 'utf8', env: { ...process.env, CONSUL_GRPC_CACERT: ca } });
    assert.equal(viaGrpcAddr.status, 0, viaGrpcAddr.stderr);
    for (const out of [viaFlag.stdout, viaEnv.stdout, viaGrpcAddr.stdout]) {
      const boot = JSON.parse(out) as { staticResources: { clusters: { loadAssignment: unknown; transportSocket?: { typedConfig: { commonTlsContext: { validationContext: { trustedCa: { inlineString: string } } } } } }[] } };
      const xds = boot.staticResources.clusters[0];
      assert.match(JSON.stringify(xds?.loadAssignment), new RegExp(`"portValue":${tlsPort}`), 'the TLS port, since there is no plaintext one');
      assert.equal(xds?.transportSocket?.typedConfig.commonTlsContext.validationContext.trustedCa.inlineString.trim(), readFileSync(ca, 'utf8').trim(), "the agent's CA, as given");
    }
    // A plain -grpc-addr is plaintext, as before: no TLS context.
    const plain = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-bootstrap', '-http-addr', agent.httpAddr, '-grpc-addr', `127.0.0.1:${tlsPort}`], { encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /transportSocket/);
    // Without the CA the agent's certificate is not trusted: the command says it cannot reach it.
    const untrusted = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-bootstrap', '-http-addr', `https://127.0.0.1:${httpsPort}`], { encoding: 'utf8' });
    assert.equal(untrusted.status, 1);
    assert.match(untrusted.stderr, /cannot reach the agent at https:\/\/127\.0\.0\.1:\d+: .*(self.signed|unable to verify|local issuer)/i);
  });

  it('runs an Envoy that connects over TLS and receives its listeners and leaf', async () => {
    const admin = await freePort();
    const { cli, output, kill } = await spawnConnectEnvoy(['-sidecar-for', 'web', '-admin-bind', `127.0.0.1:${admin}`, '-http-addr', agent.httpAddr, '--', '--log-level', 'warn']);
    const adminGet = async (path: string) => (await fetch(`http://127.0.0.1:${admin}${path}`)).text();
    try {
      await waitFor('Envoy to be LIVE and connected to Switchyard over TLS', async () => {
        if (cli.exitCode !== null) throw new Error(`connect envoy exited: ${output()}`);
        return (await adminGet('/ready').catch(() => '')).trim() === 'LIVE' && (await adminGet('/stats?filter=^control_plane.connected_state$')).includes(': 1');
      }, { timeoutMs: 30_000, intervalMs: 100 });
      await waitFor('the leaf of web in /certs', async () => /svc\/web"/.test(await adminGet('/certs')), { timeoutMs: 20_000 });
      const dump = await adminGet('/config_dump');
      assert.match(dump, /"name": "public_listener:/, 'the public listener arrived over the TLS stream');
      assert.match(await adminGet('/stats?filter=^cluster.switchyard_xds.ssl.handshake$'), /: [1-9]/, 'the xds cluster spoke TLS');
    } finally {
      kill();
    }
  });
});
