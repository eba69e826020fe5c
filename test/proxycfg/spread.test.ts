// A change many pipelines see is delivered in slices (latest wins), not inside the emission.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BehaviorSubject, Subject } from 'rxjs';
import { spread, SpreadQueue } from '../../src/proxycfg/spread.js';
import { waitFor } from '../support/wait.js';

describe('spread', () => {
  it('returns from a shared emission before any pipeline runs, then runs them all, yielding between slices', async () => {
    const roots = new BehaviorSubject(1);
    const queue = new SpreadQueue(0);
    const seen: string[] = [];
    const subs = Array.from({ length: 3 }, (_, i) => roots.pipe(spread<number>(queue)).subscribe((v) => seen.push(`p${i}:${v}`)));
    await waitFor('first values', () => seen.length === 3);
    seen.length = 0;
    roots.next(2);
    assert.equal(seen.length, 0, 'the emission itself runs no pipeline');
    // Other work queued now runs before the last pipeline: each slice (0 ms here) yields.
    setImmediate(() => seen.push('other'));
    const pipelines = () => seen.filter((s) => s.startsWith('p'));
    await waitFor('all pipelines', () => pipelines().length === 3);
    assert.deepEqual(pipelines(), ['p0:2', 'p1:2', 'p2:2']);
    assert.ok(seen.indexOf('other') < seen.indexOf('p2:2'), seen.join(','));
    for (const s of subs) s.unsubscribe();
  });

  it('delivers only the latest of values that arrive before its turn, flushes it on completion and drops it on unsubscribe', async () => {
    const queue = new SpreadQueue();
    const inputs = new Subject<number>();
    const got: (number | 'done')[] = [];
    inputs.pipe(spread<number>(queue)).subscribe({ next: (v: number) => got.push(v), complete: () => got.push('done') });
    inputs.next(1);
    inputs.next(2);
    await waitFor('latest', () => got.length === 1);
    assert.deepEqual(got, [2]);
    inputs.next(3);
    inputs.complete();
    assert.deepEqual(got, [2, 3, 'done'], 'a completion delivers the value still waiting first');

    const other = new Subject<number>();
    const late: number[] = [];
    const sub = other.pipe(spread<number>(queue)).subscribe((v: number) => late.push(v));
    other.next(9);
    sub.unsubscribe();
    const marker = new Subject<number>();
    const after: number[] = [];
    marker.pipe(spread<number>(queue)).subscribe((v: number) => after.push(v));
    marker.next(1);
    await waitFor('a later value', () => after.length === 1);
    assert.deepEqual(late, [], 'an unsubscribed pipeline gets nothing');
  });

  it('passes values through synchronously without a queue (virtual-time tests)', () => {
    const got: number[] = [];
    new BehaviorSubject(5).pipe(spread<number>(undefined)).subscribe((v: number) => got.push(v));
    assert.deepEqual(got, [5]);
  });
});
