import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BehaviorSubject } from 'rxjs';
import { blockingRead, indexed, parseBlocking, parseDuration, type Indexed } from '../../src/api/blocking.js';
import type { ApiRequest } from '../../src/api/route.js';
import { ManualClock } from '../../src/core/clock.js';

function req(query: string, signal = new AbortController().signal): ApiRequest {
  return { method: 'GET', params: {}, query: new URLSearchParams(query), body: undefined, headers: {}, signal };
}

describe('blocking queries', () => {
  it('parses Go durations and names the bad field', () => {
    assert.equal(parseDuration('wait', '1m30s'), 90_000);
    assert.equal(parseDuration('wait', '250ms'), 250);
    assert.throws(() => parseBlocking(new URLSearchParams('wait=soon')), /wait: "soon" is not a duration/);
    assert.throws(() => parseBlocking(new URLSearchParams('index=-1')), /index: must be a non-negative integer/);
    assert.equal(parseBlocking(new URLSearchParams('wait=1h')).waitMs, 600_000);
  });

  it('answers at once without an index, or when the index has moved', async () => {
    const s = new BehaviorSubject<Indexed<string>>({ index: 7, value: 'a' });
    assert.deepEqual(await blockingRead(req(''), s), { index: 7, value: 'a' });
    assert.deepEqual(await blockingRead(req('index=3'), s), { index: 7, value: 'a' });
  });

  it('waits for a change past the index', async () => {
    const s = new BehaviorSubject<Indexed<string>>({ index: 7, value: 'a' });
    const clock = new ManualClock();
    const p = blockingRead(req('index=7&wait=10s'), s, clock);
    s.next({ index: 9, value: 'b' });
    assert.deepEqual(await p, { index: 9, value: 'b' });
    assert.equal(clock.pendingTimers(), 0);
  });

  it('returns the current value after wait when nothing changes', async () => {
    const s = new BehaviorSubject<Indexed<string>>({ index: 7, value: 'a' });
    const clock = new ManualClock();
    const p = blockingRead(req('index=7&wait=10s'), s, clock);
    clock.advance(10_000);
    assert.deepEqual(await p, { index: 7, value: 'a' });
    assert.equal(s.observed, false, 'the watch was released');
  });

  it('does not block for a client that went away before the query started', async () => {
    // The leaf endpoint issues the leaf before it blocks: a client gone by then used to hold
    // the watch (and the leaf's renewal timer) until wait ran out.
    const s = new BehaviorSubject<Indexed<string>>({ index: 7, value: 'a' });
    const clock = new ManualClock();
    const gone = new AbortController();
    gone.abort();
    assert.deepEqual(await blockingRead(req('index=7&wait=10m', gone.signal), s, clock), { index: 7, value: 'a' });
    assert.equal(s.observed, false, 'the watch was released');
    assert.equal(clock.pendingTimers(), 0);
  });

  it('sets X-Consul-Index, never 0', () => {
    assert.equal(indexed({ index: 0, value: 1 }).headers?.['X-Consul-Index'], '1');
    assert.equal(indexed({ index: 42, value: 1 }).headers?.['X-Consul-Index'], '42');
  });
});
