// `switchyard connect envoy` runs a real Envoy for a registered sidecar: Envoy comes up, connects
// to Switchyard's ADS and receives its identity; SIGTERM to the command stops Envoy with it. Bad
// flags are refused naming the flag, and nothing is started.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, BIN } from '../support/agent-process.js';
import { envoyBinary } from '../support/envoy.js';
import { freePort, waitFor } from '../support/wait.js';

describe('switchyard connect envoy', () => {
  let agent: AgentProcess;

  before(async () => {
    agent = await AgentProcess.start();
    await agent.api.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: await freePort(), Connect: { SidecarService: { Port: await freePort() } } });
  });
  after(async () => agent?.dispose());

  it('runs Envoy with the sidecar bootstrap, and SIGTERM stops both', async () => {
    const admin = await freePort();
    const cli = spawn(BIN, ['connect', 'envoy', '-sidecar-for', 'web', '-admin-bind', `127.0.0.1:${admin}`, '-http-addr', agent.httpAddr, '-grpc-addr', agent.grpcAddr, '--', '--base-id', String(40_000 + (process.pid % 1000)), '--log-level', 'warn'], {
      env: { ...process.env, ENVOY_BIN: await envoyBinary() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    cli.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    try {
      const adminGet = async (path: string) => (await fetch(`http://127.0.0.1:${admin}${path}`)).text();
      await waitFor('Envoy to be LIVE and connected to Switchyard', async () => {
        if (cli.exitCode !== null) throw new Error(`connect envoy exited: ${out}`);
        return (await adminGet('/ready')).trim() === 'LIVE' && (await adminGet('/stats?filter=^control_plane.connected_state$')).includes(': 1');
      }, { timeoutMs: 30_000, intervalMs: 100 });
      await waitFor('the leaf of web in /certs', async () => /svc\/web/.test(await adminGet('/certs')), { timeoutMs: 20_000 });
      cli.kill('SIGTERM');
      await exited;
      await assert.rejects(fetch(`http://127.0.0.1:${admin}/ready`), 'Envoy is gone with the command');
    } finally {
      cli.kill('SIGKILL');
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
