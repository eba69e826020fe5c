// A terminating gateway end to end: a real agent process, an external HTTPS server outside the
// mesh (node https, its certificate from a test CA made here with openssl) registered as `ext`, a
// terminating-gateway entry linking `ext` with CAFile and SNI, the gateway's Envoy and web's
// sidecar Envoy both started by `switchyard connect envoy` (configured only over ADS). A request
// from web's app through its upstream `ext` crosses web's sidecar (mesh mTLS to the gateway, which
// presents ext's identity), and the gateway originates TLS to the server with the SNI, which the
// server sees. A deny intention web -> ext then stops requests at the gateway, before the server.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from '../support/agent-process.js';
import { spawnConnectEnvoy, type ConnectEnvoyProcess } from '../support/connect-envoy.js';
import { freePort, waitFor } from '../support/wait.js';

const SNI = 'ext.example.test';

/** A CA and a server certificate for SNI signed by it (P-256), written under `dir`. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const p = (f: string) => join(dir, f);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=Terminating Gateway Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ext.key'), '-out', p('ext.csr'), '-subj', `/CN=${SNI}`);
  writeFileSync(p('ext.ext'), `subjectAltName=DNS:${SNI}\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', p('ext.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('ext.pem'), '-days', '2', '-extfile', p('ext.ext'));
  return { ca: p('ca.pem'), cert: p('ext.pem'), key: p('ext.key') };
}

/** What the external server saw of each request: whether it came over TLS, and the SNI. */
interface Seen {
  readonly tls: boolean;
  readonly servername: string | false | null;
  readonly host: string | undefined;
}

describe('a terminating gateway with real Envoys', () => {
  let agent: AgentProcess;
  let dir: string;
  let ext: Server;
  const seen: Seen[] = [];
  const envoys: ConnectEnvoyProcess[] = [];
  let upstreamPort = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-tgw-'));
    const certs = makeCertificates(dir);
    ext = createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.push({ tls: socket.encrypted === true, servername: socket.servername, host: req.headers.host });
      res.writeHead(200).end('hello from ext');
    });
    ext.listen(0, '127.0.0.1');
    await once(ext, 'listening');
    const extPort = (ext.address() as { port: number }).port;

    agent = await AgentProcess.start();
    // ext lives outside the mesh: no sidecar, registered at the server's own address.
    await agent.api.put('/v1/agent/service/register', { ID: 'ext', Name: 'ext', Address: '127.0.0.1', Port: extPort });
    await agent.api.put('/v1/config', { Kind: 'service-defaults', Name: 'ext', Protocol: 'http' });
    await agent.api.put('/v1/config', { Kind: 'terminating-gateway', Name: 'terminating-gateway', Services: [{ Name: 'ext', CAFile: certs.ca, SNI }] });
    upstreamPort = await freePort();
    await agent.api.put('/v1/agent/service/register', {
      ID: 'web',
      Name: 'web',
      Port: await freePort(),
      Connect: { SidecarService: { Port: await freePort(), Proxy: { Upstreams: [{ DestinationName: 'ext', LocalBindPort: upstreamPort }] } } },
    });

    const common = ['-http-addr', agent.httpAddr, '-grpc-addr', agent.grpcAddr];
    const gatewayAdmin = await freePort();
    envoys.push(await spawnConnectEnvoy(['-gateway', 'terminating', '-register', '-address', `127.0.0.1:${await freePort()}`, '-admin-bind', `127.0.0.1:${gatewayAdmin}`, ...common, '--', '--log-level', 'warn']));
    envoys.push(await spawnConnectEnvoy(['-sidecar-for', 'web', '-admin-bind', `127.0.0.1:${await freePort()}`, ...common, '--', '--log-level', 'warn']));
    // The gateway holds ext's identity: its leaf, by SDS.
    await waitFor(
      "the gateway's Envoy to present ext's certificate",
      async () => {
        for (const e of envoys) if (e.cli.exitCode !== null) throw new Error(`connect envoy exited: ${e.output()}`);
        return /svc\/ext"/.test(await (await fetch(`http://127.0.0.1:${gatewayAdmin}/certs`)).text());
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  });

  after(async () => {
    for (const e of envoys) e.kill();
    ext?.close();
    await agent?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A request from web's app to its upstream ext (the local listener of web's sidecar). */
  async function callExt(): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${upstreamPort}/`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  }

  it("reaches the external server over TLS the gateway originates, with the entry's SNI", async () => {
    const reply = await waitFor('a reply from ext through web\'s upstream', async () => {
      const r = await callExt().catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    assert.equal(reply.body, 'hello from ext');
    assert.ok(seen.length > 0, 'the server saw the request');
    const last = seen[seen.length - 1]!;
    assert.equal(last.tls, true, 'the gateway spoke TLS to the server');
    assert.equal(last.servername, SNI, 'with the SNI of the terminating-gateway entry');
    assert.match(last.host ?? '', /^127\.0\.0\.1:\d+$/, 'the Host rewritten to the instance address (auto_host_rewrite)');
  });

  it('a deny intention web -> ext stops requests at the gateway, before the server', async () => {
    await waitFor('ext to answer', async () => (await callExt().catch(() => undefined))?.status === 200, { timeoutMs: 60_000, intervalMs: 250 });
    await agent.api.put('/v1/connect/intentions/exact?source=web&destination=ext', { Action: 'deny' });
    const denied = await waitFor('requests through the upstream to be refused', async () => {
      const r = await callExt().catch(() => undefined);
      return r && r.status === 403 ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.match(denied.body, /RBAC: access denied/, "the gateway's HTTP RBAC filter answered");
    const before = seen.length;
    for (let i = 0; i < 5; i++) assert.equal((await callExt()).status, 403);
    assert.equal(seen.length, before, 'no denied request reached the server');
  });
});
