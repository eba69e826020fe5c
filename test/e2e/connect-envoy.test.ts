// `switchyard connect envoy` runs a real Envoy for a registered sidecar: Envoy comes up, connects
// to Switchyard's ADS and receives its identity, two sidecars run side by side without the
// operator choosing base ids, and SIGTERM to the command stops Envoy with it. Bad
// flags are refused naming the flag, and nothing is started.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, BIN } from '../support/agent-process.js';
import { spawnConnectEnvoy } from '../support/connect-envoy.js';
import { freePort, waitFor } from '../support/wait.js';

describe('switchyard connect envoy', () => {
  let agent: AgentProcess;

  before(async () => {
    agent = await AgentProcess.start();
    for (const name of ['web', 'api']) {
      await agent.api.put('/v1/agent/service/register', { ID: name, Name: name, Port: await freePort(), Connect: { SidecarService: { Port: await freePort() } } });
    }
  });
  after(async () => agent?.dispose());

  /** `connect envoy` for a sidecar, as an operator runs it: no base id chosen. */
  async function connectEnvoy(service: string) {
    const admin = await freePort();
    const { cli, output, kill } = await spawnConnectEnvoy(['-sidecar-for', service, '-admin-bind', `127.0.0.1:${admin}`, '-http-addr', agent.httpAddr, '-grpc-addr', agent.grpcAddr, '--', '--log-level', 'warn']);
    const adminGet = async (path: string) => (await fetch(`http://127.0.0.1:${admin}${path}`)).text();
    const ready = async () => {
      await waitFor(`the Envoy of ${service} to be LIVE and connected to Switchyard`, async () => {
        if (cli.exitCode !== null) throw new Error(`connect envoy exited: ${output()}`);
        return (await adminGet('/ready').catch(() => '')).trim() === 'LIVE' && (await adminGet('/stats?filter=^control_plane.connected_state$')).includes(': 1');
      }, { timeoutMs: 30_000, intervalMs: 100 });
      await waitFor(`the leaf of ${service} in /certs`, async () => new RegExp(`svc/${service}"`).test(await adminGet('/certs')), { timeoutMs: 20_000 });
    };
    const exited = () => waitFor(`connect envoy for ${service} to exit on SIGTERM`, () => cli.exitCode !== null || cli.signalCode !== null, { timeoutMs: 10_000 });
    return { admin, cli, exited, ready, kill };
  }

  it('runs Envoy with the sidecar bootstrap, two sidecars side by side, and SIGTERM stops each', async () => {
    const sidecars = [await connectEnvoy('web'), await connectEnvoy('api')];
    try {
      // Both on one host with no --base-id given: the second would exit at once with Envoy's default base id 0.
      await Promise.all(sidecars.map((s) => s.ready()));
      for (const s of sidecars) {
        s.cli.kill('SIGTERM');
        await s.exited();
        await assert.rejects(fetch(`http://127.0.0.1:${s.admin}/ready`), 'Envoy is gone with the command');
      }
    } finally {
      for (const s of sidecars) s.kill();
    }
  });

  it('refuses bad flags naming them, starting nothing', () => {
    const bad = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-admin-bind', 'nonsense', '-http-addr', agent.httpAddr], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /-admin-bind: must be ADDRESS:PORT, got "nonsense"/);
    const unknown = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'nosuch', '-bootstrap', '-http-addr', agent.httpAddr], { encoding: 'utf8' });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /-sidecar-for: no sidecar proxy is registered for service ID "nosuch"/);
    const mode = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-ads-mode', 'push', '-http-addr', agent.httpAddr], { encoding: 'utf8' });
    assert.match(mode.stderr, /-ads-mode: must be delta or sotw, got "push"/);
  });
});
