import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { certPem } from '../../src/ca/pem.js';
import { ManualClock } from '../../src/core/clock.js';
import { makeCsr, opensslText, opensslVerify } from './support.js';

const CLUSTER = '11111111-2222-3333-4444-555555555555';
const TD = `${CLUSTER}.consul`;
const WEB = `spiffe://${TD}/ns/default/dc/dc1/svc/web`;
const HOUR = 3_600_000;

async function primary(clock: ManualClock, rawConfig: Record<string, unknown> = {}): Promise<BuiltinProvider> {
  const p = new BuiltinProvider(clock);
  await p.configure({ clusterId: CLUSTER, isPrimary: true, datacenter: 'dc1', rawConfig });
  return p;
}

describe('built-in CA provider', () => {
  for (const spec of [{ type: 'ec', bits: 256 }, { type: 'ec', bits: 384 }, { type: 'rsa', bits: 2048 }] as const) {
    it(`signs a leaf openssl verifies under a ${spec.type} ${spec.bits} root`, async () => {
      const clock = new ManualClock(Date.now());
      const p = await primary(clock, { PrivateKeyType: spec.type, PrivateKeyBits: spec.bits });
      const { root } = await p.generateRoot();
      const rootText = opensslText(certPem(root));
      assert.match(rootText, new RegExp(`URI:spiffe://${TD}`));
      assert.match(rootText, /CA:TRUE/);
      const leaf = await p.sign(await makeCsr([WEB]), { ttlMs: 72 * HOUR });
      const v = opensslVerify(certPem(root), certPem(leaf));
      assert.ok(v.ok, v.output);
      const text = opensslText(certPem(leaf));
      assert.match(text, new RegExp(`URI:${WEB.replace(/\//g, '\\/')}`));
      assert.match(text, /Digital Signature, Key Encipherment, Key Agreement/);
      assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(text, /CA:FALSE/);
    });
  }

  it('keeps its root across configure() from saved state', async () => {
    const clock = new ManualClock(Date.now());
    const a = await primary(clock);
    const { root } = await a.generateRoot();
    const b = new BuiltinProvider(clock);
    await b.configure({ clusterId: CLUSTER, isPrimary: true, datacenter: 'dc1', rawConfig: {}, state: await a.state() });
    assert.deepEqual((await b.generateRoot()).root, root);
    const leaf = await b.sign(await makeCsr([WEB]), { ttlMs: HOUR });
    assert.ok(opensslVerify(certPem(root), certPem(leaf)).ok);
  });

  it('gives a secondary an intermediate whose leaves verify through the chain', async () => {
    const clock = new ManualClock(Date.now());
    const pri = await primary(clock);
    const { root } = await pri.generateRoot();
    const sec = new BuiltinProvider(clock);
    await sec.configure({ clusterId: CLUSTER, isPrimary: false, datacenter: 'dc2', rawConfig: {} });
    const { csr, opaque } = await sec.generateIntermediateCsr();
    const inter = await pri.signIntermediate(csr);
    await sec.setIntermediate(inter, root, opaque);
    const leaf = await sec.sign(await makeCsr([`spiffe://${TD}/ns/default/dc/dc2/svc/web`]), { ttlMs: HOUR });
    assert.equal(opensslVerify(certPem(root), certPem(leaf)).ok, false, 'needs the intermediate');
    const v = opensslVerify(certPem(root), certPem(leaf), certPem(inter));
    assert.ok(v.ok, v.output);
    assert.deepEqual((await sec.generateRoot()).intermediates, [inter]);
  });

  it('cross-signs a new root so leaves of the new root verify under the old one', async () => {
    const clock = new ManualClock(Date.now());
    const oldP = await primary(clock);
    const oldRoot = (await oldP.generateRoot()).root;
    const newP = await primary(clock, { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 });
    const newRoot = (await newP.generateRoot()).root;
    assert.equal(await oldP.supportsCrossSigning(), true);
    const cross = await oldP.crossSignCA(newRoot);
    const leaf = await newP.sign(await makeCsr([WEB]), { ttlMs: HOUR });
    assert.ok(opensslVerify(certPem(newRoot), certPem(leaf)).ok);
    assert.equal(opensslVerify(certPem(oldRoot), certPem(leaf)).ok, false);
    const v = opensslVerify(certPem(oldRoot), certPem(leaf), certPem(cross));
    assert.ok(v.ok, v.output);
  });

  it('gives every leaf its own serial', async () => {
    const p = await primary(new ManualClock(Date.now()));
    await p.generateRoot();
    const csr = await makeCsr([WEB]);
    const { readCert } = await import('../../src/ca/cert-info.js');
    const serials = new Set<string>();
    for (let i = 0; i < 200; i++) serials.add(Buffer.from(readCert(await p.sign(csr, { ttlMs: HOUR })).serial).toString('hex'));
    assert.equal(serials.size, 200);
  });
});
