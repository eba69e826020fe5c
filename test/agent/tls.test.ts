// TLS on both of the agent's ports with real clients: HTTPS (node:https) and TLS gRPC (grpc-js
// ADS streams). The certificate the agent issues itself is valid for the node name, localhost and
// 127.0.0.1 and chains to the CA it publishes (/v1/connect/ca/roots and <data-dir>/tls/ca.pem);
// verify_incoming refuses clients without a certificate from that CA on both ports; certificates
// from files (made by openssl here) are served instead; a bad file stops the agent from starting,
// naming the config key and the path; a root rotation re-issues the agent's certificate; a
// non-loopback bind without ACLs logs one warning line.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import type { CARoots, LeafCert } from '../../src/ca/types.js';
import { resolveConfig, type AgentConfig } from '../../src/cli/agent-config.js';
import { startAgent } from '../../src/cli/agent.js';
import { ManualClock } from '../../src/core/clock.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { DeltaClient, node } from '../support/ads-client.js';
import { devConfig, TestAgent } from '../support/agent.js';
import { BIN } from '../support/agent-process.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';

interface HttpsReply {
  readonly status: number;
  readonly body: string;
  readonly peer: PeerCertificate;
}

/** GET over HTTPS trusting only `ca` (and presenting a client certificate when given). */
function httpsGet(url: string, tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean }): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, agent: false }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate();
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peer }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bundle = (roots: CARoots) => roots.Roots.map((r) => r.RootCert.trim() + '\n').join('');

/** Opens an ADS stream for the sidecar over TLS and resolves once Switchyard sends it its clusters (rejects when the stream ends). */
async function adsAnswers(port: number, creds: ReturnType<typeof credentials.createSsl>): Promise<void> {
  const c = DeltaClient.open(port, node('web-sidecar-proxy'), undefined, creds);
  try {
    c.subscribe(TypeUrl.Cluster);
    const resp = await c.expect('the clusters', 10_000);
    assert.equal(resp.typeUrl, TypeUrl.Cluster);
  } finally {
    c.close();
  }
}

async function registerWeb(agent: TestAgent): Promise<void> {
  const reg = await agent.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: 8080, Connect: { SidecarService: { Port: 21000 } } });
  assert.equal(reg.status, 200, reg.text);
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sy-tls-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('agent TLS with the certificate it issues itself', () => {
  let agent: TestAgent;
  let dataDir: string;
  before(async () => {
    dataDir = tempDir();
    agent = await TestAgent.start({ dataDir, httpsPort: 0, grpcTlsPort: 0 });
    await registerWeb(agent);
  });
  after(async () => agent?.close());

  it('serves HTTPS and TLS gRPC with a certificate for the node, localhost and 127.0.0.1, signed by the CA it publishes', async () => {
    const roots = (await agent.get('/v1/connect/ca/roots')).json as CARoots;
    const ca = bundle(roots);
    assert.equal(readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8'), ca, '<data-dir>/tls/ca.pem holds the roots');
    const port = Number(agent.agent.httpsAddress?.split(':').pop());
    for (const host of ['127.0.0.1', 'localhost']) {
      const r = await httpsGet(`https://${host}:${port}/v1/status/leader`, { ca });
      assert.equal(r.status, 200, `HTTPS by ${host}`);
      assert.match(r.peer.subjectaltname ?? '', /DNS:node1/);
    }
    await assert.rejects(httpsGet(`https://127.0.0.1:${port}/v1/status/leader`, {}), /self.signed|unable to (get|verify)/i, 'not trusted without the CA');
    const self = (await agent.get('/v1/agent/self')).json as { DebugConfig: { HTTPSPort: number; GRPCTLSPort: number }; xDS: { Ports: { TLS: number } } };
    assert.equal(self.DebugConfig.HTTPSPort, port);
    assert.equal(self.DebugConfig.GRPCTLSPort, agent.agent.xds.tlsPort);
    assert.equal(self.xDS.Ports.TLS, agent.agent.xds.tlsPort);
    await adsAnswers(agent.agent.xds.tlsPort, credentials.createSsl(Buffer.from(ca)));
    await assert.rejects(adsAnswers(agent.agent.xds.tlsPort, credentials.createSsl()), /stream ended: 14/, 'gRPC does not trust the agent without its CA');
  });
});

describe('the auto-issued certificate after a root rotation', () => {
  let agent: TestAgent;
  let dataDir: string;
  before(async () => {
    dataDir = tempDir();
    agent = await TestAgent.start({ dataDir, httpsPort: 0 });
  });
  after(async () => agent?.close());

  it('is re-issued under the new root, and the published CA file follows', async () => {
    const url = `https://${agent.agent.httpsAddress}/v1/status/leader`;
    const before = await httpsGet(url, { ca: bundle((await agent.get('/v1/connect/ca/roots')).json as CARoots) });
    const put = await agent.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, LeafCertTTL: '72h' } });
    assert.equal(put.status, 200, put.text);
    const roots = (await agent.get('/v1/connect/ca/roots')).json as CARoots;
    const newRoot = roots.Roots.find((r) => r.Active)?.RootCert as string;
    const after = await waitFor('the HTTPS certificate to be re-issued under the new root', async () => {
      const r = await httpsGet(url, { ca: newRoot });
      return r.peer.serialNumber !== before.peer.serialNumber && r;
    }, { timeoutMs: 10_000 });
    assert.equal(after.status, 200, 'verified against the new root alone');
    await waitFor('<data-dir>/tls/ca.pem to hold the new roots', () => readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8') === bundle(roots));
  });
});

describe('the auto-issued certificate halfway through its life', () => {
  it('is renewed and served without a restart', async () => {
    const clock = new ManualClock(Date.now());
    const agent = await TestAgent.start({ httpsPort: 0 }, { clock });
    try {
      const url = `https://${agent.agent.httpsAddress}/v1/status/leader`;
      // Issued by the manual clock, so validity is not what this checks (rejectUnauthorized: false); the serial is.
      const serial = async () => (await httpsGet(url, { rejectUnauthorized: false })).peer.serialNumber;
      const first = await serial();
      clock.advance(35 * 3600_000);
      assert.equal(await serial(), first, 'kept before half of LeafCertTTL (72h)');
      clock.advance(2 * 3600_000);
      await waitFor('a renewed certificate on the HTTPS port', async () => (await serial()) !== first);
    } finally {
      await agent.close();
    }
  });
});

describe('verify_incoming', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await TestAgent.start({ httpsPort: 0, grpcTlsPort: 0, tls: { https: { verifyIncoming: true }, grpc: { verifyIncoming: true } } });
    await registerWeb(agent);
  });
  after(async () => agent?.close());

  it('refuses clients without a certificate signed by the agent CA on both ports, and serves one with a leaf', async () => {
    const ca = bundle((await agent.get('/v1/connect/ca/roots')).json as CARoots);
    const leaf = (await agent.get('/v1/agent/connect/ca/leaf/web')).json as LeafCert;
    const url = `https://${agent.agent.httpsAddress}/v1/status/leader`;
    await assert.rejects(httpsGet(url, { ca }), 'HTTPS without a client certificate');
    assert.equal((await httpsGet(url, { ca, cert: leaf.CertPEM, key: leaf.PrivateKeyPEM })).status, 200);
    const port = agent.agent.xds.tlsPort;
    await assert.rejects(adsAnswers(port, credentials.createSsl(Buffer.from(ca))), /stream ended: 14/, 'gRPC without a client certificate');
    await adsAnswers(port, credentials.createSsl(Buffer.from(ca), Buffer.from(leaf.PrivateKeyPEM), Buffer.from(leaf.CertPEM)));
  });
});

/** An openssl CA, and certificates it signs (server: SANs 127.0.0.1 and localhost; client). */
function opensslCerts(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=files-test-ca', '-days', '2');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [['server', 'files-test-server'], ['client', 'files-test-client']] as const) {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const file = (f: string) => join(dir, f);
  const read = (f: string) => readFileSync(file(f), 'utf8');
  return { file, read };
}

function configFile(dir: string, body: unknown): string {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(body));
  return path;
}

const fromFile = (path: string): AgentConfig => ({ ...resolveConfig({ dev: true, 'config-file': path }), logLevel: 'silent', node: 'node1' });

describe('certificates from files', () => {
  it('serves the files\' certificate over HTTPS only (ports.http = -1), checking client certificates against ca_file', async () => {
    const dir = tempDir();
    const certs = opensslCerts(dir);
    const cfg = fromFile(configFile(dir, {
      ports: { http: -1, https: 0, grpc: 0 },
      tls: { defaults: { cert_file: certs.file('server.pem'), key_file: certs.file('server.key'), ca_file: certs.file('ca.pem'), verify_incoming: true } },
    }));
    const agent = await startAgent(cfg);
    try {
      assert.equal(agent.httpsAddress, agent.httpAddress, 'the agent answers on HTTPS alone');
      const url = `https://${agent.httpsAddress}/v1/agent/self`;
      const ok = await httpsGet(url, { ca: certs.read('ca.pem'), cert: certs.read('client.pem'), key: certs.read('client.key') });
      assert.equal(ok.status, 200);
      assert.equal(ok.peer.subject.CN, 'files-test-server', "the file's certificate, not one the agent issued");
      assert.equal((JSON.parse(ok.body) as { DebugConfig: { HTTPPort: number } }).DebugConfig.HTTPPort, -1);
      const leader = await httpsGet(`https://${agent.httpsAddress}/v1/status/leader`, { ca: certs.read('ca.pem'), cert: certs.read('client.pem'), key: certs.read('client.key') });
      assert.equal(JSON.parse(leader.body), agent.httpsAddress, 'the leader is this agent, at the address it answers on');
      await assert.rejects(httpsGet(url, { ca: certs.read('ca.pem') }), 'no client certificate');
    } finally {
      await agent.close();
    }
  });

  it('refuses to start on a missing or mismatched file, naming the key and the path; a cert_file without key_file is a config error', async () => {
    const dir = tempDir();
    const certs = opensslCerts(dir);
    const missing = fromFile(configFile(dir, { ports: { https: 0 }, tls: { defaults: { cert_file: join(dir, 'nope.pem'), key_file: certs.file('server.key') } } }));
    await assert.rejects(startAgent({ ...missing, httpPort: 0, grpcPort: 0 }), (err: Error) => err.message.includes('tls.defaults.cert_file') && err.message.includes(join(dir, 'nope.pem')));
    const mismatched = fromFile(configFile(dir, { ports: { grpc_tls: 0 }, tls: { defaults: { cert_file: certs.file('server.pem'), key_file: certs.file('server.key') }, grpc: { key_file: certs.file('client.key') } } }));
    await assert.rejects(startAgent({ ...mismatched, httpPort: 0, grpcPort: 0 }), /tls\.grpc\.key_file: .*client\.key is not the certificate's private key/);
    assert.throws(() => fromFile(configFile(dir, { tls: { https: { cert_file: certs.file('server.pem') } } })), /tls\.https\.key_file: is required with tls\.https\.cert_file/);
    // The real process: exit 1 and the error on stderr, nothing listening.
    const proc = spawnSync(process.execPath, [BIN, 'agent', '-dev', '-http-port', '0', '-grpc-port', '0', '-https-port', '0', '-config-file', configFile(dir, { tls: { defaults: { cert_file: join(dir, 'nope.pem'), key_file: certs.file('server.key') } } })], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(proc.status, 1);
    assert.match(proc.stderr, /tls\.defaults\.cert_file: cannot read .*nope\.pem/);
  });
});

describe('the startup warning about an open bind', () => {
  it('is logged once when bound beyond loopback without ACLs, and not on 127.0.0.1', async () => {
    for (const [bind, expected] of [['0.0.0.0', 1], ['127.0.0.1', 0]] as const) {
      const logger = recordingLogger();
      const agent = await startAgent(devConfig({ bind }), { logger });
      await agent.close();
      const warnings = logger.entries.filter((e) => e.level === 'warn' && /reachable beyond this host/.test(e.msg));
      assert.equal(warnings.length, expected, `bind ${bind}: ${JSON.stringify(warnings)}`);
      if (expected) assert.match(warnings[0]?.msg ?? '', /ACLs are disabled.*plaintext HTTP \d+ and gRPC \d+.*enable ACLs \(acl\.enabled, -acl-enabled\).*ports\.https/);
    }
  });
});
