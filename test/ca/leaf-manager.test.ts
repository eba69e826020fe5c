import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { firstValueFrom, filter, skip } from 'rxjs';
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
  // The services whose CSR had its turn (the leaf manager makes its CSR then), in that order.
  const turns: string[] = [];
  const sign = ca.signLeaf.bind(ca);
  ca.signLeaf = (csr, req, opts) => {
    const service = req?.service ?? '';
    const counted = typeof csr === 'function' ? () => (turns.push(service), csr()) : (turns.push(service), csr);
    return sign(counted, req, opts);
  };
  const leaves = new LeafManager({ ca, clock, logger: nullLogger, random, reissueJitterMs: 60_000 });
  return { ca, clock: clock as ManualClock, leaves, signs: () => turns.length, turns };
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

  it('over the CSR rate limit, issues watched leaves in the order they were asked for, one per token, none retried', async () => {
    const { clock, leaves, signs, turns } = await setup({ CSRMaxPerSecond: 5 });
    const services = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
    const issued: string[] = [];
    const subs = services.map((s) => leaves.watchLeaf(s).subscribe((l) => issued.push(l.Service)));
    try {
      // The burst (five) at once, then one more per 200 ms token: each step waits for the leaves
      // whose turn has come before moving the clock on.
      for (let step = 0; step <= 15; step++) {
        await waitFor(`${5 + step} leaves after ${step * 200} ms`, () => issued.length >= 5 + step);
        assert.equal(issued.length, 5 + step, `no leaf ahead of its turn at ${step * 200} ms`);
        clock.advance(200);
      }
      assert.deepEqual(turns, services, 'their turns came in the order they were asked for');
      assert.deepEqual(issued.slice(5), services.slice(5), 'one per token past the burst, in that order');
      assert.equal(signs(), 20, 'each CSR sent once: waiting is not a failure to retry');
    } finally {
      subs.forEach((sub) => sub.unsubscribe());
    }
  });

  it('with the real clock, issues leaves over the CSR rate limit in the order they were asked for', async () => {
    const { ca, leaves, signs, turns } = await setup({ CSRMaxPerSecond: 20 }, () => 0.5, systemClock);
    const services = Array.from({ length: 40 }, (_, i) => `svc-${i}`);
    const issued: string[] = [];
    const subs = services.map((s) => leaves.watchLeaf(s).subscribe((l) => issued.push(l.Service)));
    try {
      const started = Date.now();
      await waitFor('every leaf', () => issued.length === 40, { timeoutMs: 15_000 });
      // Those of the burst have their turns at once and finish in any order; the rest in turn.
      assert.deepEqual(turns, services);
      assert.deepEqual(new Set(issued), new Set(services));
      assert.equal(signs(), 40);
      assert.ok(Date.now() - started >= 900, 'twenty past the burst at 20/s take a second');
    } finally {
      subs.forEach((sub) => sub.unsubscribe());
      leaves.stop();
      ca.stop();
    }
  });

  it('getLeaf with maxWaitMs waits for a turn within it, and is refused at once, queuing nothing, beyond it', async () => {
    const { ca, clock, leaves, signs } = await setup({ CSRMaxPerSecond: 1 });
    await leaves.getLeaf('a');
    const b = leaves.getLeaf('b', { maxWaitMs: 10_000 });
    assert.equal(ca.csrQueue().waiting, 1);
    clock.advance(1000);
    assert.equal((await b).Service, 'b', 'its turn came within the bound');
    const subs = Array.from({ length: 15 }, (_, i) => leaves.watchLeaf(`w-${i}`).subscribe());
    try {
      assert.deepEqual(ca.csrQueue(), { waiting: 15, expectedWaitMs: 16_000 });
      const refused = await leaves.getLeaf('late', { maxWaitMs: 10_000 }).then(
        () => assert.fail('not refused'),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof RateLimitError);
      assert.match(refused.message, /^rate limit reached: 15 certificate signing requests are waiting for their turn \(about 16 s/);
      assert.equal(refused.retryAfterMs, 16_000);
      assert.equal(ca.csrQueue().waiting, 15, 'nothing queued for it');
      assert.ok(!leaves.cachedServices().includes('late'));
      assert.equal(signs(), 2, 'no turn taken for it (the 15 still wait)');
    } finally {
      subs.forEach((sub) => sub.unsubscribe());
    }
  });

  it('a CSR nobody waits for any more leaves the queue: the last watcher unsubscribing, an HTTP caller going away', async () => {
    const { ca, clock, leaves, signs } = await setup({ CSRMaxPerSecond: 1 });
    await leaves.getLeaf('a');
    leaves.watchLeaf('watched').subscribe().unsubscribe();
    assert.equal(ca.csrQueue().waiting, 0, "the watcher's CSR left with it");
    const gone = new AbortController();
    const asked = leaves.getLeaf('asked', { signal: gone.signal });
    assert.equal(ca.csrQueue().waiting, 1);
    gone.abort(new Error('client went away'));
    await assert.rejects(asked, /client went away/);
    assert.equal(ca.csrQueue().waiting, 0, "the HTTP caller's CSR left with it");
    assert.deepEqual(leaves.cachedServices(), ['a'], 'nothing left behind for them');
    // A watcher that joined an issuance an HTTP caller started keeps it when the caller goes away.
    const caller = new AbortController();
    const first = leaves.getLeaf('shared', { signal: caller.signal }).catch(() => undefined);
    let leaf: LeafCert | undefined;
    const sub = leaves.watchLeaf('shared').subscribe((l) => (leaf = l));
    try {
      caller.abort(new Error('gone'));
      await first;
      assert.equal(ca.csrQueue().waiting, 1);
      clock.advance(1000);
      await waitFor('the watcher to get the leaf', () => leaf);
      assert.equal(signs(), 1 + 1);
    } finally {
      sub.unsubscribe();
    }
  });

  it('getLeaf with maxWaitMs gives up with a RateLimitError when its turn has not come by then (csr_max_concurrent)', async () => {
    const { ca, clock, leaves } = await setup({ CSRMaxConcurrent: 1 });
    const sign = ca.signLeaf.bind(ca);
    let hold: () => void = () => undefined;
    // The slow one's CSR is made (its slot held) only when the test lets it.
    const held = new Promise<void>((r) => (hold = r));
    ca.signLeaf = (csr, req, opts) => sign(req?.service === 'slow' && typeof csr === 'function' ? () => held.then(csr) : csr, req, opts);
    const slow = leaves.getLeaf('slow');
    const waiting = leaves.getLeaf('next', { maxWaitMs: 10_000 });
    await waitFor('the slow signing to hold the only slot', () => ca.csrQueue().waiting === 1);
    clock.advance(10_000);
    await assert.rejects(waiting, (e: unknown) => e instanceof RateLimitError && /waited 10 s for its turn \(1 waiting\)/.test(e.message));
    assert.equal(ca.csrQueue().waiting, 0, 'and left the queue');
    hold();
    await slow;
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
    // The first CSR is signed by the root active when its turn comes; its answer is held until after the rotation.
    ca.signLeaf = async (csr, req, opts) => {
      const signed = await sign(csr, req, opts);
      if (++calls === 1) await gate;
      return signed;
    };
    let leaf: LeafCert | undefined;
    const sub = leaves.watchLeaf('web').subscribe((l) => (leaf = l));
    try {
      await waitFor('the first CSR to be signed by the old root', () => calls === 1);
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
