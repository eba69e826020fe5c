// The push queue coalesces a stream queued twice and yields to the event loop between slices.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { PushQueue } from '../../src/server/push-queue.js';
import { waitFor } from '../support/wait.js';

describe('push queue', () => {
  it('runs each queued push once, in order, and forgets cancelled ones', async () => {
    const q = new PushQueue();
    const ran: string[] = [];
    const a = () => ran.push('a');
    const b = () => ran.push('b');
    const c = () => ran.push('c');
    q.enqueue(a);
    q.enqueue(b);
    q.enqueue(a);
    q.enqueue(c);
    q.cancel(c);
    assert.deepEqual(ran, [], 'nothing runs synchronously');
    await waitFor('pushes run', () => ran.length === 2);
    assert.deepEqual(ran, ['a', 'b']);
  });

  it('yields between slices so other work interleaves', async () => {
    const q = new PushQueue(0);
    const ran: string[] = [];
    for (let i = 0; i < 3; i++) q.enqueue(() => ran.push(`push${i}`));
    await tick();
    ran.push('other');
    await waitFor('all pushes', () => ran.length === 4);
    assert.ok(ran.indexOf('other') < ran.indexOf('push2'), ran.join(','));
  });
});
