// The README's "A mesh by hand", run as pasted: its sh block is taken from README.md and run by
// bash in a scratch directory that looks like a fresh clone's top (bin/ and scripts/ are this
// checkout's). Only what must differ is replaced, each replacement listed in `adapt`:
// - `npm ci &&` is dropped: this checkout is already installed and built (npm ci would replace
//   the node_modules the other tests use); `node scripts/tools.mjs envoy` still runs.
// - the fixed ports (HTTP 8500, gRPC 8502, the apps' 8080 and 9090, the upstream's 9191, the
//   Envoy admin ports 19000/19001 and the sidecars' automatic public ports) become free ones, so
//   the test runs beside others; the agent is told its two ports by flags and the CLI finds it
//   through $CONSUL_HTTP_ADDR, as an operator's shell would.
// The block must then print the call passing, then refused after the deny, and tear itself down.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killOnExit } from '../support/tool-process.js';
import { freePort } from '../support/wait.js';

const REPO = new URL('../../../', import.meta.url).pathname;

/** The sh block under the "A mesh by hand" heading. */
export function meshByHandBlock(readme: string): string {
  const section = readme.slice(readme.indexOf('### A mesh by hand'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md: no ```sh block under "### A mesh by hand"');
  return m[1] as string;
}

interface Ports { http: number; grpc: number; server: number; client: number; upstream: number; admin1: number; admin2: number; side1: number; side2: number }

function adapt(block: string, p: Ports): string {
  let side = [p.side1, p.side2];
  const out = block
    .replace(/^npm ci && /m, '')
    .replace('agent -dev', `agent -dev -http-port ${p.http} -grpc-port ${p.grpc}`)
    .replace(/\b8500\b/g, String(p.http))
    .replace(/\b8080\b/g, String(p.server))
    .replace(/\b9090\b/g, String(p.client))
    .replace(/\b9191\b/g, String(p.upstream))
    .replace(/\b19000\b/g, String(p.admin1))
    .replace(/\b19001\b/g, String(p.admin2))
    .replace(/"SidecarService": \{ ?(\}|"Proxy")/g, (_all, next: string) => {
      const [port, ...rest] = side;
      side = rest;
      return `"SidecarService": { "Port": ${port}${next === '}' ? ' }' : `, ${next}`}`;
    });
  assert.equal(side.length, 0, 'both sidecar registrations were given a free public port');
  return out;
}

describe("README: a mesh by hand", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-readme-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs as pasted: the call passes, is refused after the deny, and everything is torn down', async () => {
    const ports: Ports = { http: 0, grpc: 0, server: 0, client: 0, upstream: 0, admin1: 0, admin2: 0, side1: 0, side2: 0 };
    for (const k of Object.keys(ports) as (keyof Ports)[]) ports[k] = await freePort();
    const script = adapt(meshByHandBlock(readFileSync(join(REPO, 'README.md'), 'utf8')), ports);
    for (const d of ['bin', 'scripts']) symlinkSync(join(REPO, d), join(dir, d));
    const env: NodeJS.ProcessEnv = { ...process.env, CONSUL_HTTP_ADDR: `127.0.0.1:${ports.http}` };
    delete env.SWITCHYARD_HTTP_ADDR;
    const sh = spawn('bash', ['-c', script], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const group = () => { try { process.kill(-(sh.pid as number), 'SIGKILL'); } catch { /* gone */ } };
    const forget = killOnExit(group);
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sh.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = setTimeout(group, 120_000);
    const code = await new Promise<number | null>((resolve) => sh.once('exit', (c) => resolve(c)));
    clearTimeout(deadline);
    const logs = () => readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-3000)}`).join('\n');
    try {
      assert.equal(code, 0, `the block did not finish by itself within 120 s (exit ${code}):\n${out}\n${logs()}`);
      const passed = out.indexOf('client -> hello from server');
      const refused = out.indexOf('client -> refused');
      assert.ok(passed >= 0, `the call through the mesh never passed:\n${out}\n${logs()}`);
      assert.ok(refused > passed, `the call was not refused after the deny:\n${out}\n${logs()}`);
      assert.match(out, /Created: client => server \(deny\)/);
      // SDS, CDS, EDS, LDS synced (tcp: no RDS; the server sidecar has no upstream, so no EDS).
      assert.match(out, /^client-sidecar-proxy +yes +1 +SYNCED +SYNCED +SYNCED +SYNCED +NOT SENT +-$/m, 'proxy status shows the client sidecar synced');
      assert.match(out, /^server-sidecar-proxy +yes +1 +SYNCED +SYNCED +NOT SENT +SYNCED +NOT SENT +-$/m, 'proxy status shows the server sidecar synced');
      // Teardown: nothing the block started still holds its ports.
      for (const port of [ports.http, ports.server, ports.client, ports.upstream]) {
        const still = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
        assert.equal(still, false, `port ${port} still answers after the block's teardown`);
      }
      assert.ok(existsSync(join(dir, 'agent.log')));
    } finally {
      group();
      forget();
    }
  });
});
