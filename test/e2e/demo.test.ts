// `npm run demo` (scripts/demo.mjs): brings up the README's mesh with real Envoys, prints what to
// try, and tears everything down on Ctrl-C. Ports are moved to free ones through
// SWITCHYARD_DEMO_PORTS so the test runs beside others; everything else is as an operator runs it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { call } from '../support/apps.js';
import { killOnExit } from '../support/tool-process.js';
import { freePort, waitFor } from '../support/wait.js';

const REPO = new URL('../../../', import.meta.url).pathname;

describe('npm run demo', () => {
  it('brings up the mesh with real Envoys, prints what to try, and tears down on Ctrl-C', async () => {
    const ports: Record<string, number> = {};
    for (const k of ['http', 'grpc', 'server', 'client', 'upstream', 'admin1', 'admin2', 'side1', 'side2']) ports[k] = await freePort();
    const demo = spawn(process.execPath, ['scripts/demo.mjs'], { cwd: REPO, env: { ...process.env, SWITCHYARD_DEMO_PORTS: JSON.stringify(ports) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const forget = killOnExit(() => { try { process.kill(-(demo.pid as number), 'SIGKILL'); } catch { /* gone */ } });
    let out = '';
    demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (c) => resolve(c)));
    try {
      await waitFor('the demo to bring the mesh up', () => {
        if (demo.exitCode !== null) throw new Error(`demo exited ${demo.exitCode}: ${out}`);
        return out.includes('Ctrl-C stops everything.');
      }, { timeoutMs: 90_000 });
      assert.match(out, /The mesh is up: .*: client -> hello from server/);
      assert.match(out, /intention create -deny client server/);
      assert.match(out, new RegExp(`export CONSUL_HTTP_ADDR=127\\.0\\.0\\.1:${ports.http}`));
      // What it says to try works: a deny shows.
      const io = { stdout: () => undefined, stderr: () => undefined, env: { CONSUL_HTTP_ADDR: `127.0.0.1:${ports.http}` } };
      assert.equal(await main(['intention', 'create', '-deny', 'client', 'server'], io), 0);
      await waitFor('the deny to show', async () => {
        const r = await call(ports.client as number);
        return r.ok && r.body === 'client -> refused\n';
      }, { timeoutMs: 30_000 });
      demo.kill('SIGINT');
      assert.equal(await exited, 0, out);
      for (const port of [ports.http, ports.client, ports.server]) {
        assert.equal(await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false), false, `port ${port} still answers after Ctrl-C`);
      }
    } finally {
      try { process.kill(-(demo.pid as number), 'SIGKILL'); } catch { /* gone */ }
      forget();
    }
  });
});
