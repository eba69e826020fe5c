import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, filter } from 'rxjs';
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { CAService } from '../../src/ca/ca-service.js';
import { readCert } from '../../src/ca/cert-info.js';
import type { CAConfig } from '../../src/ca/config.js';
import { certDer } from '../../src/ca/pem.js';
import type { CAProvider } from '../../src/ca/provider.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import { ManualClock } from '../../src/core/clock.js';
import { ConflictError, ValidationError } from '../../src/core/errors.js';
import { nullLogger } from '../../src/core/logger.js';
import { waitFor } from '../support/wait.js';
import { makeCsr, opensslText, opensslVerify, splitPem } from './support.js';

const HOUR = 3_600_000;
const CLUSTER = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const TD = `${CLUSTER}.consul`;
const uri = (svc: string, dc = 'dc1', td = TD) => `spiffe://${td}/ns/default/dc/${dc}/svc/${svc}`;

async function startCA(store = new MemoryCAStateStore(), clock = new ManualClock(Date.now()), initialConfig?: unknown) {
  const ca = new CAService({ store, clock, logger: nullLogger, datacenter: 'dc1', newClusterId: () => CLUSTER, initialConfig: initialConfig ?? { Config: { CSRMaxPerSecond: 0 } } });
  await ca.start();
  return { ca, store, clock };
}

/** A CA whose providers `newProvider` makes (chosen by their configuration). */
async function startWithProviders(clock: ManualClock, newProvider: (c: CAConfig) => CAProvider): Promise<CAService> {
  const ca = new CAService({ store: new MemoryCAStateStore(), clock, logger: nullLogger, datacenter: 'dc1', newClusterId: () => CLUSTER, newProvider, initialConfig: { Config: { CSRMaxPerSecond: 0 } } });
  await ca.start();
  return ca;
}

/** A rotation: EC P-384 after the default P-256. */
const P384 = { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 } };

const rootsPem = (ca: CAService) => ca.roots().Roots.map((r) => r.RootCert).join('');

describe('CA service', () => {
  it('publishes one active root carrying the trust domain, and signs leaves openssl verifies', async () => {
    const { ca, clock } = await startCA();
    const roots = ca.roots();
    assert.equal(roots.TrustDomain, TD);
    assert.equal(roots.Roots.length, 1);
    const [root] = roots.Roots;
    assert.equal(root?.Active, true);
    assert.equal(root?.ID, roots.ActiveRootID);
    assert.equal(root?.PrivateKeyType, 'ec');
    assert.equal(root?.PrivateKeyBits, 256);
    assert.match(opensslText(root?.RootCert ?? ''), new RegExp(`URI:spiffe://${TD}\\b`));
    const leaf = await ca.signLeaf(await makeCsr([uri('web')]), { service: 'web' });
    const v = opensslVerify(rootsPem(ca), leaf.certPem, '', clock.now());
    assert.ok(v.ok, v.output);
    const info = readCert(certDer(leaf.certPem));
    assert.equal(info.notBefore, Math.floor((clock.now() - 60_000) / 1000) * 1000, 'NotBefore one minute in the past');
    assert.equal(info.notAfter - info.notBefore, 72 * HOUR + 60_000, 'default TTL 72h');
    assert.deepEqual(info.uris, [uri('web')]);
  });

  it('rejects bad CSRs with the field at fault and signs nothing', async () => {
    const { ca } = await startCA();
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['garbage', async () => ca.signLeaf(new Uint8Array([1, 2, 3]), { service: 'web' }), /CSR: malformed/],
      ['other trust domain', async () => ca.signLeaf(await makeCsr([uri('web', 'dc1', 'other.consul')]), { service: 'web' }), /CSR\.URIs\[0\]: trust domain "other\.consul"/],
      ['other service', async () => ca.signLeaf(await makeCsr([uri('db')]), { service: 'web' }), /CSR\.URIs\[0\]: identity is for service "db"/],
      ['not a service id', async () => ca.signLeaf(await makeCsr([`spiffe://${TD}/agent/x`]), { service: 'web' }), /CSR\.URIs\[0\]: .* is not a service identity/],
      ['no SAN', async () => ca.signLeaf(await makeCsr([]), { service: 'web' }), /CSR\.URIs: must carry exactly one URI SAN/],
      ['other datacenter', async () => ca.signLeaf(await makeCsr([uri('web', 'dc9')]), { service: 'web' }), /CSR\.URIs\[0\]: datacenter "dc9"/],
      ['TTL too long', async () => ca.signLeaf(await makeCsr([uri('web')]), { service: 'web', ttlMs: 9000 * HOUR }), /TTL: must be between 1h and LeafCertTTL \(72h\), got 9000h/],
      ['RSA 1024 key', async () => ca.signLeaf(await makeCsr([uri('web')], { type: 'rsa', bits: 1024 }), { service: 'web' }), /CSR\.PublicKey: unsupported key type rsa 1024/],
      ['EC P-521 key', async () => ca.signLeaf(await makeCsr([uri('web')], { type: 'ec', bits: 521 }), { service: 'web' }), /CSR\.PublicKey: unsupported key type ec 521/],
      ['TTL too short', async () => ca.signLeaf(await makeCsr([uri('web')]), { service: 'web', ttlMs: 60_000 }), /TTL: must be between 1h .*, got 1m/],
    ];
    for (const [name, p, re] of cases) {
      await assert.rejects(p(), (err: unknown) => err instanceof ValidationError && re.test(err.message), name);
    }
    const tampered = await makeCsr([uri('web')]);
    tampered[tampered.length - 5]! ^= 0xff;
    await assert.rejects(ca.signLeaf(tampered, { service: 'web' }), /CSR: malformed certificate signing request: signature does not verify/);
  });

  it('validates configuration with field paths and changes nothing on error', async () => {
    const { ca, store } = await startCA();
    const before = store.saves;
    await assert.rejects(ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 521 } }), /Config\.PrivateKeyBits: ec keys of 521 bits are not supported/);
    await assert.rejects(ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'dsa' } }), /Config\.PrivateKeyType/);
    await assert.rejects(ca.setConfiguration({ Provider: 'consul', Config: { LeafCertTTL: '10m' } }), /Config\.LeafCertTTL: must be at least 1h/);
    await assert.rejects(ca.setConfiguration({ Provider: 'consul', Config: { leaf_cert_ttl: '9000h' } }), /Config\.LeafCertTTL: must be at most 8760h/);
    await assert.rejects(ca.setConfiguration({ Provider: 'consul', Config: { LeafCertTTL: 'soon' } }), /Config\.LeafCertTTL: "soon" is not a duration/);
    await assert.rejects(ca.setConfiguration({ Provider: 'aws-pca', Config: {} }), /Provider: "aws-pca" is not supported/);
    await assert.rejects(ca.setConfiguration({ Provider: 'consul', Config: { Bogus: 1 } }), /Config/);
    assert.equal(store.saves, before);
    assert.equal(ca.configuration().Config.PrivateKeyBits, 256);
  });

  it('keeps root, cluster id and trust domain across a restart on the same state', async () => {
    const first = await startCA();
    const before = first.ca.roots();
    const leaf = await first.ca.signLeaf(await makeCsr([uri('web')]), { service: 'web' });
    first.ca.stop();
    const again = new CAService({ store: first.store, clock: first.clock, logger: nullLogger, datacenter: 'dc1', newClusterId: () => 'must-not-be-used' });
    await again.start();
    assert.equal(again.clusterId, CLUSTER);
    assert.equal(again.trustDomain, TD);
    assert.deepEqual(again.roots(), before);
    const next = await again.signLeaf(await makeCsr([uri('web')]), { service: 'web' });
    assert.ok(opensslVerify(rootsPem(again), next.certPem).ok);
    assert.ok(opensslVerify(rootsPem(again), leaf.certPem).ok);
  });

  it('rotates the root on a key change: cross-signed, both published, old pruned when its leaves expire', async () => {
    const { ca, clock, store } = await startCA();
    const oldRoot = ca.roots().Roots[0]!;
    const oldLeaf = await ca.signLeaf(await makeCsr([uri('web')]), { service: 'web' });
    clock.advance(HOUR);
    await ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048, CSRMaxPerSecond: 0 } });
    const roots = ca.roots();
    assert.equal(roots.Roots.length, 2);
    const newRoot = roots.Roots.find((r) => r.Active)!;
    assert.notEqual(newRoot.ID, oldRoot.ID);
    assert.equal(roots.ActiveRootID, newRoot.ID);
    assert.equal(newRoot.PrivateKeyType, 'rsa');
    assert.equal(roots.Roots.find((r) => r.ID === oldRoot.ID)?.Active, false);
    assert.equal(newRoot.IntermediateCerts.length, 1, 'the cross-signed certificate');
    const cross = newRoot.IntermediateCerts[0]!;

    // The old leaf still verifies against the published roots, and under the old root alone.
    assert.ok(opensslVerify(rootsPem(ca), oldLeaf.certPem, '', clock.now()).ok);
    assert.ok(opensslVerify(oldRoot.RootCert, oldLeaf.certPem, '', clock.now()).ok);
    // A new leaf verifies under the new root, and through the cross-signed cert under the old root
    // (a proxy still holding only the old root accepts it), and carries that cert in its chain.
    const newLeaf = await ca.signLeaf(await makeCsr([uri('web')], { type: 'rsa', bits: 2048 }), { service: 'web' });
    const [leafPem, ...chain] = splitPem(newLeaf.certPem);
    assert.deepEqual(chain, [cross]);
    let v = opensslVerify(newRoot.RootCert, leafPem!, '', clock.now());
    assert.ok(v.ok, v.output);
    v = opensslVerify(oldRoot.RootCert, leafPem!, cross, clock.now());
    assert.ok(v.ok, v.output);
    v = opensslVerify(rootsPem(ca), leafPem!, chain.join(''), clock.now());
    assert.ok(v.ok, v.output);

    // Until the old root's last leaf expires both are listed; then the old one goes.
    clock.advance(72 * HOUR - HOUR);
    assert.equal(ca.roots().Roots.length, 2);
    const pruned = firstValueFrom(ca.watchRoots().pipe(filter((r) => r.Roots.length === 1)));
    clock.advance(HOUR + 1000);
    const after = await pruned;
    assert.deepEqual(after.Roots.map((r) => r.ID), [newRoot.ID]);
    assert.ok((await store.load())?.roots.length === 1, 'the prune is persisted');
  });

  it('signs with the new root as soon as it is published: a leaf requested on the roots update verifies under the root it names', async () => {
    const { ca, clock } = await startCA();
    const oldRootId = ca.roots().ActiveRootID;
    const csr = await makeCsr([uri('web')], { type: 'ec', bits: 384 });
    // Whoever sees the new roots may ask for a leaf at once (a watcher, a proxy just registered).
    let onPublish: Promise<Awaited<ReturnType<CAService['signLeaf']>>> | undefined;
    const sub = ca.watchRoots().subscribe((r) => {
      if (r.ActiveRootID !== oldRootId && !onPublish) onPublish = ca.signLeaf(csr, { service: 'web' });
    });
    try {
      await ca.setConfiguration(P384);
    } finally {
      sub.unsubscribe();
    }
    assert.ok(onPublish, 'the new roots were published');
    const leaf = await onPublish;
    const newRoot = ca.roots().Roots.find((r) => r.Active)!;
    assert.equal(leaf.rootId, newRoot.ID);
    const [leafPem] = splitPem(leaf.certPem);
    const v = opensslVerify(newRoot.RootCert, leafPem!, '', clock.now());
    assert.ok(v.ok, `a leaf labelled with the new root must be signed by it: ${v.output}`);
  });

  it('keeps a rotated-out root until its longest-lived leaf expires, even after LeafCertTTL was shortened', async () => {
    const { ca, clock } = await startCA();
    const oldRoot = ca.roots().Roots[0]!;
    const oldLeaf = await ca.signLeaf(await makeCsr([uri('web')]), { service: 'web' }); // 72h
    await ca.setConfiguration({ Provider: 'consul', Config: { LeafCertTTL: '1h', CSRMaxPerSecond: 0 } });
    await ca.setConfiguration({ Provider: 'consul', Config: { LeafCertTTL: '1h', PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 } });
    clock.advance(2 * HOUR);
    await new Promise((r) => setImmediate(r)); // a prune, if one was due, has committed
    assert.ok(ca.roots().Roots.some((r) => r.ID === oldRoot.ID), 'the old root is still published 2h later');
    assert.ok(opensslVerify(rootsPem(ca), oldLeaf.certPem, '', clock.now()).ok, 'its 72h leaf still verifies');
    const pruned = firstValueFrom(ca.watchRoots().pipe(filter((r) => r.Roots.length === 1)));
    clock.advance(70 * HOUR + 1000);
    assert.deepEqual((await pruned).Roots.map((r) => r.ID), [ca.roots().ActiveRootID]);
  });

  it('changes only the configuration when the key settings stay', async () => {
    const { ca } = await startCA();
    const id = ca.roots().ActiveRootID;
    const cfg = await ca.setConfiguration({ Provider: 'consul', Config: { LeafCertTTL: '24h', CSRMaxPerSecond: 0 } });
    assert.equal(cfg.Config.LeafCertTTL, '24h');
    assert.equal(ca.roots().ActiveRootID, id);
    const leaf = await ca.signLeaf(await makeCsr([uri('web')]), { service: 'web' });
    assert.equal(leaf.notAfter - leaf.notBefore, 24 * HOUR + 60_000);
  });

  it('over csr_max_per_second, a CSR waits for its turn and is signed in arrival order, none refused', async () => {
    const { ca, clock } = await startCA(undefined, undefined, { Config: { csr_max_per_second: 2 } });
    const csrs = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((s) => makeCsr([uri(s)])));
    const signed: string[] = [];
    const all = Promise.all(csrs.map((csr, i) => ca.signLeaf(csr, { service: 'abcde'[i] }).then((l) => signed.push(l.service))));
    await waitFor('the burst (two) to be signed', () => signed.length === 2);
    assert.deepEqual(ca.csrQueue(), { waiting: 3, expectedWaitMs: 2000 });
    clock.advance(499);
    assert.equal(ca.csrQueue().waiting, 3, 'no token yet');
    clock.advance(1);
    await waitFor('the third, after one token (500 ms)', () => signed.length === 3);
    clock.advance(1000);
    await all;
    assert.deepEqual(signed, ['a', 'b', 'c', 'd', 'e']);
  });

  it('caps signings in flight with csr_max_concurrent: the next waits until one ends, a validation error ends it too', async () => {
    const { ca } = await startCA(undefined, undefined, { Config: { CSRMaxConcurrent: 1 } });
    const csr = await makeCsr([uri('web')]);
    let releaseCsr: (csr: Uint8Array) => void = () => undefined;
    // The first request's CSR is made when its turn comes, and held: its slot stays taken.
    const first = ca.signLeaf(() => new Promise<Uint8Array>((resolve) => (releaseCsr = resolve)), { service: 'web' });
    const order: string[] = [];
    const second = ca.signLeaf(csr, { service: 'web' }).then(() => order.push('second'));
    const bad = ca.signLeaf(new Uint8Array([1, 2, 3]), { service: 'web' }).catch((e: unknown) => order.push(`bad: ${(e as Error).message}`));
    await waitFor('the first to have its turn', () => ca.csrQueue().waiting === 2);
    assert.equal(ca.csrQueue().expectedWaitMs, undefined);
    releaseCsr(csr);
    await Promise.all([first, second, bad]);
    assert.equal(order[0], 'second');
    assert.match(order[1] ?? '', /^bad: CSR: malformed/);
    await ca.signLeaf(csr, { service: 'web' });
  });

  it('a CSR whose caller goes away while it waits leaves the queue, unsigned', async () => {
    const { ca, clock } = await startCA(undefined, undefined, { Config: { CSRMaxPerSecond: 1 } });
    const csr = await makeCsr([uri('web')]);
    await ca.signLeaf(csr, { service: 'web' });
    const gone = new AbortController();
    let made = 0;
    const waiting = ca.signLeaf(() => (made++, Promise.resolve(csr)), { service: 'web' }, { signal: gone.signal });
    const behind = ca.signLeaf(csr, { service: 'web' });
    assert.equal(ca.csrQueue().waiting, 2);
    gone.abort(new Error('caller gone'));
    await assert.rejects(waiting, /caller gone/);
    assert.equal(ca.csrQueue().waiting, 1);
    clock.advance(1000);
    await behind;
    assert.equal(made, 0, 'its CSR was never made');
  });

  it('rotates without cross-signing when ForceWithoutCrossSigning is set', async () => {
    const { ca } = await startCA();
    await ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 }, ForceWithoutCrossSigning: true });
    const active = ca.roots().Roots.find((r) => r.Active)!;
    assert.deepEqual(active.IntermediateCerts, []);
    assert.equal(ca.roots().Roots.length, 2);
  });

  it('a rotation the old provider refuses (it cannot cross-sign) is a ConflictError, and the new provider is cleaned up', async () => {
    const clock = new ManualClock(Date.now());
    const cleanups: string[] = [];
    class NoCrossSigning extends BuiltinProvider {
      override supportsCrossSigning() {
        return Promise.resolve(false);
      }
    }
    class Recorded extends BuiltinProvider {
      override cleanup() {
        cleanups.push('new provider');
        return super.cleanup();
      }
    }
    const newProvider = (c: CAConfig) => (c.Config.PrivateKeyBits === 384 ? new Recorded(clock) : new NoCrossSigning(clock));
    const ca = await startWithProviders(clock, newProvider);
    const before = ca.roots();
    await assert.rejects(ca.setConfiguration(P384), (err: Error) => err instanceof ConflictError && /cannot cross-sign.*ForceWithoutCrossSigning/.test(err.message));
    assert.deepEqual(cleanups, ['new provider'], 'what the provider not switched to made is released (Consul cleans up the new provider)');
    assert.deepEqual(ca.roots(), before);
    assert.ok(opensslVerify(rootsPem(ca), (await ca.signLeaf(await makeCsr([uri('web')]), { service: 'web' })).certPem, '', clock.now()).ok, 'the provider in force still signs');
  });

  it('lets the provider it replaces go only once the leaves it is signing are signed', async () => {
    const clock = new ManualClock(Date.now());
    const events: string[] = [];
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Signs slowly (a Vault or a plugin at the other end of a call); cleaned up, it cannot sign.
    class Slow extends BuiltinProvider {
      override async sign(csr: Uint8Array, opts: { ttlMs: number }) {
        events.push('signing');
        await gate;
        return super.sign(csr, opts);
      }
      override cleanup() {
        events.push('cleaned up');
        return super.cleanup();
      }
    }
    const newProvider = (c: CAConfig) => (c.Config.PrivateKeyBits === 384 ? new BuiltinProvider(clock) : new Slow(clock));
    const ca = await startWithProviders(clock, newProvider);
    const oldRoot = ca.roots().ActiveRootID;
    const leaf = ca.signLeaf(await makeCsr([uri('web')]), { service: 'web' });
    await waitFor('the old provider to be signing', () => events.includes('signing'));
    const rotated = ca.setConfiguration(P384);
    await waitFor('the new root to be active', () => ca.roots().ActiveRootID !== oldRoot);
    assert.deepEqual(events, ['signing'], 'not cleaned up while it signs');
    release();
    const signed = await leaf;
    await rotated;
    assert.deepEqual(events, ['signing', 'cleaned up']);
    assert.equal(signed.rootId, oldRoot);
    const v = opensslVerify(rootsPem(ca), signed.certPem, '', clock.now());
    assert.ok(v.ok, v.output);
  });

  it('a root that comes back while still published (a provider that kept it) is listed once, as the active one', async () => {
    const clock = new ManualClock(Date.now());
    // Its root outlives a switch away, as a Vault root mount does.
    class Keeps extends BuiltinProvider {
      override cleanup() {
        return Promise.resolve();
      }
    }
    const kept = new Keeps(clock);
    const newProvider = (c: CAConfig) => (c.Config.PrivateKeyBits === 384 ? kept : new BuiltinProvider(clock));
    const ca = await startWithProviders(clock, newProvider);
    await ca.setConfiguration(P384);
    const back = ca.roots().ActiveRootID;
    await ca.setConfiguration({ Provider: 'consul', Config: { CSRMaxPerSecond: 0 } });
    await ca.setConfiguration(P384);
    const roots = ca.roots();
    assert.equal(roots.ActiveRootID, back);
    assert.deepEqual(roots.Roots.map((r) => r.ID).filter((id) => id === back), [back], 'one record per root');
    assert.equal(roots.Roots.length, 3);
    assert.deepEqual(roots.Roots.filter((r) => r.Active).map((r) => r.ID), [back]);
    const leaf = await ca.signLeaf(await makeCsr([uri('web')], { type: 'ec', bits: 384 }), { service: 'web' });
    assert.equal(leaf.rootId, back);
    assert.ok(opensslVerify(roots.Roots.find((r) => r.ID === back)!.RootCert, splitPem(leaf.certPem)[0]!, '', clock.now()).ok);
  });

  it('after a restart mid-rotation keeps both roots and still prunes the old one on time', async () => {
    const first = await startCA();
    await first.ca.setConfiguration(P384);
    const activeId = first.ca.roots().ActiveRootID;
    first.ca.stop();
    const again = new CAService({ store: first.store, clock: first.clock, logger: nullLogger, datacenter: 'dc1' });
    await again.start();
    assert.equal(again.roots().Roots.length, 2);
    assert.equal(again.roots().ActiveRootID, activeId);
    const leaf = await again.signLeaf(await makeCsr([uri('web')], { type: 'ec', bits: 384 }), { service: 'web' });
    assert.ok(opensslVerify(again.roots().Roots.find((r) => r.Active)!.RootCert, leaf.certPem, '', first.clock.now()).ok);
    const pruned = firstValueFrom(again.watchRoots().pipe(filter((r) => r.Roots.length === 1)));
    first.clock.advance(72 * HOUR + 1000);
    assert.equal((await pruned).ActiveRootID, activeId);
  });
});
