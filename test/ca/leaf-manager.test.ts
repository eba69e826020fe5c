import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { firstValueFrom, filter, skip, take, toArray } from 'rxjs';
import { CAService } from '../../src/ca/ca-service.js';
import { readCert } from '../../src/ca/cert-info.js';
import { LeafManager } from '../../src/ca/leaf-manager.js';
import { certDer } from '../../src/ca/pem.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import type { LeafCert } from '../../src/ca/types.js';
import type { CASource } from '../../src/proxycfg/sources.js';
import { ManualClock, systemClock, type Clock } from '../../src/core/clock.js';
import { RateLimitError } from '../../src/core/errors.js';
import { nullLogger } from '../../src/core/logger.js';
import { waitFor } from '../support/wait.js';
import { opensslText, opensslVerify } from './support.js';

const HOUR = 3_600_000;

async function setup(config: Record<string, unknown> = { CSRMaxPerSecond: 0 }, random: () => number = () => 0.5, clock: Clock = new ManualClock(Date.now())) {
  const ca = new CAService({ store: new MemoryCAStateStore(), clock, logger: nullLogger, datacenter: 'dc1', initialConfig: { Config: config } });
  await ca.start();
  let signs = 0;
  const sign = ca.signLeaf.bind(ca);
  ca.signLeaf = (csr, req) => {
    signs++;
    return sign(csr, req);
  };
  const leaves = new LeafManager({ ca, clock, logger: nullLogger, random, reissueJitterMs: 60_000 });
  return { ca, clock: clock as ManualClock, leaves, signs: () => signs };
}

const rootsPem = (ca: CAService) => ca.roots().Roots.map((r) => r.RootCert).join('');
const lifetime = (l: LeafCert) => Date.parse(l.ValidBefore) - Date.parse(l.ValidAfter);

describe('leaf manager', () => {
  it('issues one leaf per service, shared by its subscribers, with a key matching the cert', async () => {
    const { ca, clock, leaves, signs } = await setup();
    const [a, b] = await Promise.all([firstValueFrom(leaves.watchLeaf('web')), firstValueFrom(leaves.watchLeaf('web'))]);
    assert.equal(a, b);
    assert.equal(signs(), 1);
    assert.equal(a.Service, 'web');
    assert.equal(a.ServiceURI, `spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`);
    const v = opensslVerify(rootsPem(ca), a.CertPEM, '', clock.now());
    assert.ok(v.ok, v.output);
    assert.match(opensslText(a.CertPEM), /URI:spiffe:\/\/.*\/svc\/web/);
    const certKey = Buffer.from(readCert(certDer(a.CertPEM)).spki);
    const ownKey = createPublicKey(createPrivateKey(a.PrivateKeyPEM)).export({ format: 'der', type: 'spki' });
    assert.deepEqual(ownKey, certKey);
    assert.equal(lifetime(a), 72 * HOUR + 60_000);
  });

  it('is a CASource for the proxy layer', async () => {
    const { ca, leaves } = await setup();
    const source: CASource = leaves;
    assert.equal((await firstValueFrom(source.watchRoots())).ActiveRootID, ca.roots().ActiveRootID);
  });

  it('keeps the leaf cached across resubscription', async () => {
    const { leaves, signs } = await setup();
    const first = await firstValueFrom(leaves.watchLeaf('web'));
    const again = await firstValueFrom(leaves.watchLeaf('web'));
    assert.equal(again.SerialNumber, first.SerialNumber);
    assert.equal(signs(), 1);
    assert.equal((await leaves.getLeaf('web')).SerialNumber, first.SerialNumber);
  });

  it('drops a leaf nobody has watched for the idle period, and keeps watched ones', async () => {
    const { clock, leaves, signs } = await setup();
    await leaves.getLeaf('asked-once-over-http');
    const sub = leaves.watchLeaf('watched').subscribe();
    const first = await firstValueFrom(leaves.watchLeaf('watched'));
    clock.advance(40 * HOUR);
    assert.deepEqual(leaves.cachedServices(), ['asked-once-over-http', 'watched'], 'still cached within the idle period');
    // Past 72h: the unwatched leaf goes; the watched one is renewed (at 75% of 72h) and stays.
    clock.advance(33 * HOUR);
    await firstValueFrom(leaves.watchLeaf('watched').pipe(filter((l) => l.SerialNumber !== first.SerialNumber)));
    assert.deepEqual(leaves.cachedServices(), ['watched'], 'the unwatched leaf (and its key) is gone; the watched one stays');
    sub.unsubscribe();
    clock.advance(73 * HOUR);
    assert.deepEqual(leaves.cachedServices(), [], 'dropped once its last watcher has been gone for the idle period');
    const before = signs();
    await leaves.getLeaf('watched');
    assert.equal(signs(), before + 1, 'asking again issues a fresh leaf');
  });

  it('renews at a random point between 60% and 90% of the lifetime', async () => {
    for (const [r, fraction] of [[0, 0.6], [0.5, 0.75], [0.999, 0.8997]] as const) {
      const { clock, leaves } = await setup(undefined, () => r);
      const seen: LeafCert[] = [];
      const sub = leaves.watchLeaf('web').subscribe((l) => seen.push(l));
      await firstValueFrom(leaves.watchLeaf('web'));
      const first = seen[0]!;
      const renewAt = Date.parse(first.ValidAfter) + lifetime(first) * fraction;
      // Issuing is asynchronous: a renewal that came due early is not in `seen` yet when advance()
      // returns. Its timer on the manual clock (the only one) is what shows whether it came due.
      clock.advance(renewAt - clock.now() - 60_000);
      assert.equal(clock.pendingTimers(), 1, `renewed before ${fraction} of the lifetime`);
      const renewed = firstValueFrom(leaves.watchLeaf('web').pipe(filter((l) => l.SerialNumber !== first.SerialNumber)));
      clock.advance(120_000);
      assert.equal(clock.pendingTimers(), 0, `not renewed by ${fraction} of the lifetime`);
      const next = await renewed;
      assert.ok(next.ModifyIndex > first.ModifyIndex);
      assert.equal(next.CreateIndex, first.CreateIndex);
      sub.unsubscribe();
    }
  });

  it('re-issues every watched leaf under a new root, spread over the jitter window', async () => {
    const randoms = [0.5, 0.5, 0.5, 0.1, 0.5, 0.9, 0.5];
    const { ca, clock, leaves } = await setup(undefined, () => randoms.shift() ?? 0.5);
    const services = ['web', 'api', 'db'];
    const latest = new Map<string, LeafCert>();
    const subs = services.map((s) => leaves.watchLeaf(s).subscribe((l) => latest.set(s, l)));
    await Promise.all(services.map((s) => firstValueFrom(leaves.watchLeaf(s))));
    const oldSerials = new Map(services.map((s) => [s, latest.get(s)!.SerialNumber]));
    await ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 } });
    const newRootPem = ca.roots().Roots.find((r) => r.Active)!.RootCert;
    // Jitter draws 0.1, 0.5 and 0.9 of a 60s window: after 10s only the first has moved.
    const firstMoved = firstValueFrom(leaves.watchLeaf('web').pipe(skip(1)));
    // Issuing is asynchronous: leaves re-issued too early would still be in flight when web's
    // arrives. The re-issue timers on the manual clock show which came due.
    const timers = clock.pendingTimers();
    clock.advance(10_000);
    assert.equal(clock.pendingTimers(), timers - 1, 'only web (at 0.1 of the window) is re-issued in the first 10s');
    await firstMoved;
    assert.notEqual(latest.get('web')!.SerialNumber, oldSerials.get('web'));
    assert.equal(latest.get('db')!.SerialNumber, oldSerials.get('db'));
    const rest = Promise.all(['api', 'db'].map((s) => firstValueFrom(leaves.watchLeaf(s).pipe(skip(1)))));
    clock.advance(50_000);
    await rest;
    for (const s of services) {
      const leaf = latest.get(s)!;
      assert.notEqual(leaf.SerialNumber, oldSerials.get(s));
      const v = opensslVerify(newRootPem, leaf.CertPEM, '', clock.now());
      assert.ok(v.ok, `${s}: ${v.output}`);
    }
    subs.forEach((sub) => sub.unsubscribe());
  });

  it('answers a RateLimitError directly, and retries in the background until it gets the leaf', async () => {
    const { clock, leaves } = await setup({ CSRMaxPerSecond: 1 });
    await leaves.getLeaf('a');
    await assert.rejects(leaves.getLeaf('b'), RateLimitError);
    const got = firstValueFrom(leaves.watchLeaf('b').pipe(take(1), toArray()));
    clock.advance(5_000);
    assert.equal((await got)[0]?.Service, 'b');
  });

  it('gives a watcher its leaf even when the issuance it joined (one asked for over HTTP) fails', async () => {
    const { ca, clock, leaves } = await setup();
    const sign = ca.signLeaf.bind(ca);
    let calls = 0;
    ca.signLeaf = (csr, req) => (++calls === 1 ? Promise.reject(new Error('CA unavailable')) : sign(csr, req));
    const asked = leaves.getLeaf('web');
    let leaf: LeafCert | undefined;
    const sub = leaves.watchLeaf('web').subscribe((l) => (leaf = l));
    try {
      await assert.rejects(asked, /CA unavailable/);
      // The retry backs off for up to 1 s; virtual time moves until the watcher has its leaf.
      const got = await waitFor('the watcher to get its leaf after the failed issuance', () => {
        clock.advance(1_000);
        return leaf;
      });
      assert.equal(got.Service, 'web');
    } finally {
      sub.unsubscribe();
    }
  });

  it('re-issues a leaf that was being signed by the old root when the root changed', async () => {
    const { ca, clock, leaves } = await setup();
    const sign = ca.signLeaf.bind(ca);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    // The first CSR is signed by the root active when it arrives; its answer is held until after the rotation.
    ca.signLeaf = async (csr, req) => {
      const signed = sign(csr, req);
      if (++calls === 1) await gate;
      return signed;
    };
    let leaf: LeafCert | undefined;
    const sub = leaves.watchLeaf('web').subscribe((l) => (leaf = l));
    try {
      await waitFor('the first CSR to reach the CA', () => calls === 1);
      await ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 } });
      const newRootPem = ca.roots().Roots.find((r) => r.Active)!.RootCert;
      release();
      const first = await waitFor('the leaf signed by the old root', () => leaf);
      // Within the re-issue jitter window (60 s here), not at its renewal days later.
      const started = clock.now();
      const got = await waitFor('the leaf to be re-issued', () => {
        if (clock.now() - started < 60_000) clock.advance(1_000);
        return leaf !== first && leaf;
      });
      const v = opensslVerify(newRootPem, got.CertPEM, '', clock.now());
      assert.ok(v.ok, v.output);
    } finally {
      sub.unsubscribe();
    }
  });

  it('with the system clock, does not renew a long-lived leaf at once (renewal beyond the 24.8-day timer limit)', async () => {
    // LeafCertTTL 8760h: the renewal is 219+ days away, past Node's 2^31-1 ms timer limit, which
    // Node turns into 1 ms; unchained, the manager re-issued the leaf over and over.
    const { ca, leaves, signs } = await setup({ CSRMaxPerSecond: 0, LeafCertTTL: '8760h', IntermediateCertTTL: '26280h' }, () => 0.5, systemClock);
    const seen: LeafCert[] = [];
    const sub = leaves.watchLeaf('web').subscribe((l) => seen.push(l));
    try {
      await firstValueFrom(leaves.watchLeaf('web'));
      // Asserting that nothing happens needs a bounded window (the loop this guards against
      // re-signed every few milliseconds, ~100 times in 300 ms).
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(signs(), 1);
      assert.equal(seen.length, 1);
    } finally {
      sub.unsubscribe();
      leaves.stop();
      ca.stop();
    }
  });
});
