// Two datacenters, one trust domain: a secondary agent (dc2) makes no root of its own; its CA is
// an intermediate the primary (dc1) signed, so its leaves carry dc/dc2 and chain to dc1's root.
// Real agents in process, real HTTP between them, real SQLite where a restart matters, and
// openssl and node:crypto as the judges of every chain.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nameCN } from '../../src/ca/certs.js';
import { buildCsr } from '../../src/ca/csr.js';
import { generateKey, signerFor } from '../../src/ca/keys.js';
import { toPem } from '../../src/ca/pem.js';
import type { CARoots } from '../../src/ca/types.js';
import type { AgentConfig } from '../../src/cli/agent-config.js';
import { ProxyConfigManager, type ProxyState } from '../../src/proxycfg/manager.js';
import { leafSecret, rootsSecret } from '../../src/xds/secrets.js';
import { TestAgent } from '../support/agent.js';
import { freePort, waitFor } from '../support/wait.js';
import { opensslVerify, splitPem } from './support.js';

interface Leaf {
  CertPEM: string;
  ServiceURI: string;
  SerialNumber: string;
}

const FAST_RETRY = { primaryBackoff: { baseMs: 50, maxMs: 200 } };
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-fed-'));
  dirs.push(d);
  return d;
}

async function startPrimary(over: Partial<AgentConfig> = {}): Promise<TestAgent> {
  return TestAgent.start({ datacenter: 'dc1', node: 'n1', ...over });
}

async function startSecondary(primaryAddress: string, over: Partial<AgentConfig> = {}): Promise<TestAgent> {
  return TestAgent.start({ datacenter: 'dc2', node: 'n2', primaryDatacenter: 'dc1', retryJoinWan: [primaryAddress], ...over }, FAST_RETRY);
}

const roots = async (a: TestAgent) => (await a.get('/v1/connect/ca/roots')).json as CARoots;
const bundle = (r: CARoots) => r.Roots.map((x) => x.RootCert).join('');

async function leaf(a: TestAgent, service: string): Promise<Leaf> {
  const r = await a.get(`/v1/agent/connect/ca/leaf/${service}`);
  assert.equal(r.status, 200, r.text);
  return r.json as Leaf;
}

/** The secondary's roots once it signs with an intermediate chaining to the primary's active root. */
function followed(secondary: TestAgent, primaryRootId: string) {
  return waitFor(`dc2 to sign under dc1's root ${primaryRootId}`, async () => {
    const r = await roots(secondary);
    return r.ActiveRootID === primaryRootId ? r : undefined;
  });
}

/** openssl's verdict on a leaf (and the chain it came with) against a bundle. */
function verifies(bundlePem: string, certPem: string): boolean {
  const [leafPem, ...chain] = splitPem(certPem);
  const r = opensslVerify(bundlePem, leafPem as string, chain.join(''));
  return r.ok;
}

/** dc1 and a dc2 that signs under dc1's active root; both closed after `fn`. */
async function withTwoDatacenters(fn: (dc1: TestAgent, dc2: TestAgent, r1: CARoots, r2: CARoots) => Promise<void>): Promise<void> {
  const dc1 = await startPrimary();
  const dc2 = await startSecondary(dc1.agent.httpAddress);
  try {
    const r1 = await roots(dc1);
    await fn(dc1, dc2, r1, await followed(dc2, r1.ActiveRootID));
  } finally {
    await dc2.close();
    await dc1.close();
  }
}

describe('secondary datacenter CA', () => {
  it("signs leaves with an intermediate from the primary: dc/dc2 identities chaining to dc1's root, one trust domain", () =>
    withTwoDatacenters(async (dc1, dc2, r1, r2) => {
      assert.equal(r2.TrustDomain, r1.TrustDomain);
      assert.deepEqual(r2.Roots.map((r) => r.RootCert), r1.Roots.map((r) => r.RootCert));
      const cfg2 = (await dc2.get('/v1/connect/ca/configuration')).json as { ClusterID: string };
      const cfg1 = (await dc1.get('/v1/connect/ca/configuration')).json as { ClusterID: string };
      assert.equal(cfg2.ClusterID, cfg1.ClusterID);

      const web = await leaf(dc2, 'web');
      assert.equal(web.ServiceURI, `spiffe://${r1.TrustDomain}/ns/default/dc/dc2/svc/web`);
      const [leafPem, intermediatePem, ...rest] = splitPem(web.CertPEM);
      assert.ok(leafPem && intermediatePem, 'CertPEM carries the leaf and the intermediate');
      assert.equal(rest.length, 0);
      // node:crypto: leaf <- intermediate <- dc1's root, and the leaf names dc2.
      const leafCert = new X509Certificate(leafPem);
      const inter = new X509Certificate(intermediatePem);
      const root = new X509Certificate(r1.Roots[0]?.RootCert as string);
      assert.ok(leafCert.verify(inter.publicKey), 'the leaf is signed by the intermediate');
      assert.ok(inter.verify(root.publicKey), "the intermediate is signed by dc1's root");
      assert.ok(inter.ca && !leafCert.ca);
      assert.equal(inter.subjectAltName, `URI:spiffe://${r1.TrustDomain}`);
      assert.equal(leafCert.subjectAltName, `URI:${web.ServiceURI}`);
      // openssl, trusting dc1's published roots only.
      const pemRoots = (await dc1.get('/v1/connect/ca/roots?pem=true')).text;
      assert.ok(verifies(pemRoots, web.CertPEM), 'openssl verifies the dc2 leaf against dc1 roots');
      // A dc1 leaf verifies against dc2's bundle, as a dc2 sidecar checks it.
      assert.ok(verifies(bundle(r2), (await leaf(dc1, 'api')).CertPEM));
      // The secondary's active root record carries its intermediate and its key id, as Consul's does.
      const active2 = r2.Roots.find((r) => r.Active);
      assert.equal(active2?.IntermediateCerts.at(-1), intermediatePem);
      assert.notEqual(active2?.SigningKeyID, r1.Roots[0]?.SigningKeyID);
    }));

  it('refuses a bad intermediate CSR with a 400 naming the problem, and signs nothing', async () => {
    const dc1 = await startPrimary();
    try {
      const before = await roots(dc1);
      const td = before.TrustDomain;
      const spec = { type: 'ec', bits: 256 } as const;
      const key = await generateKey(spec);
      const csr = (uris: string[], ca: boolean) => toPem('CERTIFICATE REQUEST', buildCsr(nameCN('x'), key.spki, uris, signerFor(spec, key.pkcs8), ca));
      const post = (body: unknown) => dc1.call('POST', '/v1/internal/connect/ca/sign-intermediate', body);
      const cases: [unknown, RegExp][] = [
        [undefined, /CSR: is required/],
        [{}, /CSR: must be the intermediate CSR as PEM/],
        [{ CSR: 'hello' }, /CSR: must be exactly one PEM CERTIFICATE REQUEST block/],
        [{ CSR: csr([`spiffe://${td}`], false) }, /CSR\.BasicConstraints: an intermediate CSR must ask for CA:true/],
        [{ CSR: csr(['spiffe://other.consul'], true) }, /CSR\.URIs\[0\]: "spiffe:\/\/other\.consul" is not this trust domain's CA URI/],
        [{ CSR: csr([`spiffe://${td}/ns/default/dc/dc2/svc/web`], true) }, /CSR\.URIs\[0\]/],
        [{ CSR: csr([], true) }, /CSR\.URIs: must carry exactly one URI SAN/],
        [{ CSR: csr([`spiffe://${td}`], true), Extra: 1 }, /Extra: unknown field|Extra/],
      ];
      for (const [body, want] of cases) {
        const r = await post(body);
        assert.equal(r.status, 400, `${JSON.stringify(body)?.slice(0, 80)}: ${r.text}`);
        assert.match(r.text, want);
      }
      // A tampered CSR (signature no longer matches) is refused too.
      const good = csr([`spiffe://${td}`], true);
      const der = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      der.writeUInt8(der.readUInt8(der.length - 5) ^ 0xff, der.length - 5);
      const tampered = await post({ CSR: toPem('CERTIFICATE REQUEST', der) });
      assert.equal(tampered.status, 400);
      assert.match(tampered.text, /CSR: malformed certificate signing request/);
      assert.deepEqual(await roots(dc1), before);
      // And a good one is signed by the active root.
      const ok = await post({ CSR: good });
      assert.equal(ok.status, 200, ok.text);
      const signed = ok.json as { IntermediatePEM: string; RootID: string };
      assert.equal(signed.RootID, before.ActiveRootID);
      assert.ok(new X509Certificate(signed.IntermediatePEM).verify(new X509Certificate(before.Roots[0]?.RootCert as string).publicKey));
    } finally {
      await dc1.close();
    }
  });

  it('waits for an unreachable primary: leaf requests fail with the reason, and succeed once the primary is up', async () => {
    const port = await freePort();
    const dc2 = await startSecondary(`127.0.0.1:${port}`);
    let dc1: TestAgent | undefined;
    try {
      // Nothing else waits: the agent answers, with no roots yet.
      const empty = await roots(dc2);
      assert.equal(empty.ActiveRootID, '');
      assert.deepEqual(empty.Roots, []);
      const refused = await dc2.get('/v1/agent/connect/ca/leaf/web');
      assert.equal(refused.status, 503, refused.text);
      assert.match(refused.text, /secondary.*no intermediate certificate signed by the primary datacenter \(dc1\) yet: the primary at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
      assert.equal((await dc2.get('/v1/status/leader')).status, 200);

      dc1 = await startPrimary({ httpPort: port });
      const r1 = await roots(dc1);
      await followed(dc2, r1.ActiveRootID);
      const web = await leaf(dc2, 'web');
      assert.match(web.ServiceURI, /\/dc\/dc2\/svc\/web$/);
      assert.ok(verifies(bundle(r1), web.CertPEM));
    } finally {
      await dc2.close();
      await dc1?.close();
    }
  });

  it('keeps its intermediate and key across a restart: it signs at once, even with the primary down', async () => {
    const dir = tempDir();
    const dc1 = await startPrimary();
    let dc2 = await startSecondary(dc1.agent.httpAddress, { dataDir: dir });
    try {
      const r1 = await roots(dc1);
      const before = await followed(dc2, r1.ActiveRootID);
      const first = await leaf(dc2, 'web');
      await dc2.close();
      await dc1.close();

      dc2 = await startSecondary(dc1.agent.httpAddress, { dataDir: dir });
      const again = await roots(dc2);
      assert.equal(again.ActiveRootID, before.ActiveRootID);
      assert.equal(again.TrustDomain, before.TrustDomain);
      assert.equal(again.Roots.find((r) => r.Active)?.SigningKeyID, before.Roots.find((r) => r.Active)?.SigningKeyID);
      const next = await dc2.get('/v1/agent/connect/ca/leaf/web');
      assert.equal(next.status, 200, next.text);
      const after = next.json as Leaf;
      assert.notEqual(after.SerialNumber, first.SerialNumber);
      assert.equal(splitPem(after.CertPEM)[1], splitPem(first.CertPEM)[1], 'the same intermediate signs after the restart');
      assert.ok(verifies(bundle(r1), after.CertPEM));
    } finally {
      await dc2.close();
    }
  });

  it("follows a primary rotation: both roots in the bundle throughout, then leaves under the new root's intermediate", () =>
    withTwoDatacenters(async (dc1, dc2, old1) => {
      const oldRoot = old1.Roots[0]?.RootCert as string;
      const dc1Old = await leaf(dc1, 'api');
      const dc2Old = await leaf(dc2, 'web');
      const seen: CARoots[] = [];
      const sub = dc2.agent.ca.watchPublishedRoots().subscribe((r) => seen.push(r));

      const put = await dc1.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384 } });
      assert.equal(put.status, 200, put.text);
      const new1 = await roots(dc1);
      assert.notEqual(new1.ActiveRootID, old1.ActiveRootID);
      const during = await followed(dc2, new1.ActiveRootID);
      sub.unsubscribe();
      const newRoot = new1.Roots.find((r) => r.Active)?.RootCert as string;

      // Every version of dc2's bundle held the old root, and the root dc2 was signing under.
      for (const r of seen) {
        const pems = r.Roots.map((x) => x.RootCert);
        assert.ok(pems.includes(oldRoot), `index ${r.Index}: old root kept`);
        assert.ok(r.Roots.some((x) => x.ID === r.ActiveRootID && x.Active), `index ${r.Index}: active root listed`);
      }
      // dc2 switched only after the new root was in its bundle (leaves re-issued only once they chain to it).
      const firstWithNew = seen.find((r) => r.Roots.some((x) => x.RootCert === newRoot));
      assert.equal(firstWithNew?.ActiveRootID, old1.ActiveRootID, 'the new root was published in dc2 before dc2 signed under it');
      assert.deepEqual(during.Roots.map((r) => r.RootCert).sort(), [oldRoot, newRoot].sort());

      const dc1New = await leaf(dc1, 'api');
      const dc2New = await leaf(dc2, 'web');
      assert.notEqual(dc2New.SerialNumber, dc2Old.SerialNumber);
      // dc2's new leaf chains to the new root alone; its intermediate was signed by it.
      assert.ok(verifies(newRoot, dc2New.CertPEM), "dc2's new leaf chains to dc1's new root");
      const inter = new X509Certificate(splitPem(dc2New.CertPEM)[1] as string);
      assert.ok(inter.verify(new X509Certificate(newRoot).publicKey));
      // Every pairing of old and new leaves verifies against the other side's bundle: no call fails.
      const b1 = bundle(await roots(dc1));
      const b2 = bundle(await roots(dc2));
      for (const l of [dc1Old, dc1New]) assert.ok(verifies(b2, l.CertPEM), `dc1 leaf ${l.SerialNumber} accepted in dc2`);
      for (const l of [dc2Old, dc2New]) assert.ok(verifies(b1, l.CertPEM), `dc2 leaf ${l.SerialNumber} accepted in dc1`);
      // A dc2 peer that has not got the new root yet still accepts dc1's new leaf (cross-signed chain).
      assert.ok(verifies(oldRoot, dc1New.CertPEM));
    }));

  it("takes new key settings in the secondary as a new intermediate of that key type, under the same root", () =>
    withTwoDatacenters(async (dc1, dc2, r1, before) => {
      const oldKeyId = before.Roots.find((r) => r.Active)?.SigningKeyID;
      const put = await dc2.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384 } });
      assert.equal(put.status, 200, put.text);
      const renewed = await waitFor('a new intermediate in dc2', async () => {
        const r = await roots(dc2);
        const active = r.Roots.find((x) => x.Active);
        return active && active.SigningKeyID !== oldKeyId ? r : undefined;
      });
      assert.equal(renewed.ActiveRootID, r1.ActiveRootID, 'the primary did not rotate');
      const web = await leaf(dc2, 'web');
      const inter = new X509Certificate(splitPem(web.CertPEM)[1] as string);
      assert.equal(inter.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
      assert.ok(verifies(bundle(r1), web.CertPEM));
      // The primary's own roots are untouched by a secondary's configuration.
      assert.deepEqual((await roots(dc1)).Roots, r1.Roots);
      // A secondary signs no intermediates itself.
      const key = await generateKey({ type: 'ec', bits: 256 });
      const csrPem = toPem('CERTIFICATE REQUEST', buildCsr(nameCN('x'), key.spki, [`spiffe://${r1.TrustDomain}`], signerFor({ type: 'ec', bits: 256 }, key.pkcs8), true));
      const refused = await dc2.call('POST', '/v1/internal/connect/ca/sign-intermediate', { CSR: csrPem });
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.text, /dc2\) is a secondary; intermediates are signed by the primary datacenter \(dc1\)/);
    }));

  it("gives a dc2 sidecar, by SDS, its leaf with the intermediate and dc1's roots as the trust bundle", () =>
    withTwoDatacenters(async (dc1, dc2, r1) => {
      const reg = await dc2.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: 8080, Connect: { SidecarService: {} } });
      assert.equal(reg.status, 200, reg.text);
      const proxies = new ProxyConfigManager({ catalog: dc2.catalog, ca: dc2.agent.leaves });
      let latest: ProxyState | undefined;
      const sub = proxies.watch('web-sidecar-proxy').subscribe((st) => (latest = st));
      const snap = await waitFor('the dc2 sidecar snapshot', () => (latest?.state === 'snapshot' ? latest.snapshot : undefined), { timeoutMs: 20_000 });
      sub.unsubscribe();
      assert.equal(snap.kind, 'connect-proxy');
      const leafSds = leafSecret(snap).type;
      const rootsSds = rootsSecret(snap).type;
      assert.ok(leafSds?.$case === 'tlsCertificate' && rootsSds?.$case === 'validationContext');
      const chain = leafSds.value.certificateChain?.specifier;
      const trusted = rootsSds.value.trustedCa?.specifier;
      assert.ok(chain?.$case === 'inlineString' && trusted?.$case === 'inlineString');
      const certs = splitPem(chain.value);
      assert.equal(certs.length, 2, 'leaf and intermediate');
      assert.match(new X509Certificate(certs[0] as string).subjectAltName ?? '', /\/dc\/dc2\/svc\/web$/);
      assert.equal(trusted.value, bundle(r1));
      assert.ok(verifies(bundle(r1), chain.value), "the SDS chain verifies against dc1's roots");
    }));
});
