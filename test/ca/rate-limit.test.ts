import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsrLimiter } from '../../src/ca/rate-limit.js';
import { ManualClock, systemClock } from '../../src/core/clock.js';
import { waitFor } from '../support/wait.js';

/** Lets granted turns run their continuations (a grant resolves a promise). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** Joins the queue as waiter `id`, recording when (clock time) its turn came. */
function join(limiter: CsrLimiter, clock: { now(): number }, id: number, granted: Array<{ id: number; at: number }>, signal?: AbortSignal) {
  return limiter.acquire(signal).then((release) => {
    granted.push({ id, at: clock.now() });
    return release;
  });
}

describe('CSR limiter: one queue, served in arrival order', () => {
  it('over csr_max_per_second, every request waits for its turn: the burst at once, then one per token, in arrival order (fake clock)', async () => {
    const clock = new ManualClock();
    const start = clock.now();
    const limiter = new CsrLimiter(clock, { CSRMaxPerSecond: 10, CSRMaxConcurrent: 0 });
    const granted: Array<{ id: number; at: number }> = [];
    for (const id of range(40)) void join(limiter, clock, id, granted);
    await settle();
    assert.deepEqual(granted.map((g) => g.id), range(10), "the burst (one second's worth) at once");
    assert.equal(limiter.waiting, 30);
    for (let tick = 1; tick <= 30; tick++) {
      clock.advance(99);
      await settle();
      assert.equal(granted.length, 9 + tick, `nothing more before token ${tick}`);
      clock.advance(1);
      await settle();
      assert.equal(granted.length, 10 + tick, `token ${tick} serves one more`);
    }
    assert.deepEqual(granted.map((g) => g.id), range(40), 'in arrival order');
    assert.deepEqual(granted.map((g) => g.at - start), range(40).map((i) => Math.max(0, (i - 9) * 100)));
    assert.equal(limiter.waiting, 0);
    assert.equal(clock.pendingTimers(), 0, 'no timer left once the queue is empty');
  });

  it('starves nobody: under arrivals faster than the rate, each request is served at the time its place in line gives (fake clock)', async () => {
    const clock = new ManualClock();
    const start = clock.now();
    const limiter = new CsrLimiter(clock, { CSRMaxPerSecond: 5, CSRMaxConcurrent: 0 });
    const granted: Array<{ id: number; at: number }> = [];
    // Three new requests every 200 ms (one token's time) for 6 s: the queue only grows.
    let next = 0;
    for (let t = 0; t < 6000; t += 200) {
      for (let k = 0; k < 3; k++) void join(limiter, clock, next++, granted);
      await settle();
      clock.advance(200);
    }
    await settle();
    // Request i, whatever came after it, had its turn as soon as it had arrived and its token had
    // come: the burst (five), then one token per 200 ms.
    assert.deepEqual(granted.map((g) => g.id), range(granted.length));
    for (const g of granted) assert.equal(g.at - start, Math.max(Math.floor(g.id / 3) * 200, (g.id - 4) * 200), `request ${g.id}`);
    assert.equal(granted.length, 35);
    assert.equal(limiter.waiting, next - 35);
  });

  it('a waiter whose caller goes away leaves the queue; the ones behind it move up', async () => {
    const clock = new ManualClock();
    const limiter = new CsrLimiter(clock, { CSRMaxPerSecond: 1, CSRMaxConcurrent: 0 });
    const granted: Array<{ id: number; at: number }> = [];
    const leaving = new AbortController();
    void join(limiter, clock, 0, granted);
    const gone = join(limiter, clock, 1, granted, leaving.signal);
    void join(limiter, clock, 2, granted);
    await settle();
    assert.equal(limiter.waiting, 2);
    leaving.abort(new Error('client went away'));
    await assert.rejects(gone, /client went away/);
    assert.equal(limiter.waiting, 1);
    clock.advance(1000);
    await settle();
    assert.deepEqual(granted.map((g) => g.id), [0, 2], 'the next token goes to the one behind it');
    await assert.rejects(limiter.acquire(AbortSignal.abort(new Error('already gone'))), /already gone/);
    assert.equal(limiter.waiting, 0, 'an aborted signal does not join');
  });

  it('with csr_max_concurrent, a released slot goes to the longest waiter', async () => {
    const clock = new ManualClock();
    const limiter = new CsrLimiter(clock, { CSRMaxPerSecond: 50, CSRMaxConcurrent: 2 });
    const granted: Array<{ id: number; at: number }> = [];
    const releases = range(5).map((id) => join(limiter, clock, id, granted));
    await settle();
    assert.deepEqual(granted.map((g) => g.id), [0, 1]);
    assert.equal(limiter.expectedWaitMs(), undefined, 'unknown: it depends on how long signings take');
    (await releases[1]!)();
    await settle();
    assert.deepEqual(granted.map((g) => g.id), [0, 1, 2]);
    (await releases[1]!)(); // releasing twice frees one slot
    (await releases[0]!)();
    await settle();
    assert.deepEqual(granted.map((g) => g.id), [0, 1, 2, 3]);
    (await releases[2]!)();
    await settle();
    assert.deepEqual(granted.map((g) => g.id), range(5));
  });

  it('turning the limit off serves everyone waiting at once, in order', async () => {
    const clock = new ManualClock();
    const limiter = new CsrLimiter(clock, { CSRMaxPerSecond: 1, CSRMaxConcurrent: 0 });
    const granted: Array<{ id: number; at: number }> = [];
    for (const id of range(6)) void join(limiter, clock, id, granted);
    await settle();
    assert.equal(granted.length, 1);
    assert.equal(limiter.expectedWaitMs(), 6000);
    limiter.update({ CSRMaxPerSecond: 0, CSRMaxConcurrent: 0 });
    await settle();
    assert.deepEqual(granted.map((g) => g.id), range(6));
    assert.equal(limiter.expectedWaitMs(), 0);
  });

  it('with the real clock, a burst four times the rate is served in arrival order, at the rate', async () => {
    const limiter = new CsrLimiter(systemClock, { CSRMaxPerSecond: 20, CSRMaxConcurrent: 0 });
    const granted: Array<{ id: number; at: number }> = [];
    const start = systemClock.now();
    for (const id of range(80)) void join(limiter, systemClock, id, granted);
    await waitFor('every request to have its turn', () => granted.length === 80, { timeoutMs: 15_000 });
    assert.deepEqual(granted.map((g) => g.id), range(80));
    // 60 past the burst at 20/s: 3 s at the earliest.
    const last = (granted[79]?.at ?? 0) - start;
    assert.ok(last >= 2900, `the last had its turn after ${last} ms, faster than the rate allows`);
    assert.ok(last < 6000, `the last had its turn only after ${last} ms`);
  });
});
