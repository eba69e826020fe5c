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

  it('answers requests of served streams before pushes still waiting, within a slice and across slices', async () => {
    const q = new PushQueue(0);
    const ran: string[] = [];
    // A mesh-wide change queues a push for every stream; a served stream's ACK arrives meanwhile.
    for (let i = 0; i < 3; i++) q.enqueue(() => ran.push(`push${i}`));
    q.enqueueAnswer(() => {
      ran.push('answer0');
      // An answer that makes another (the next round trip of another stream) runs before the pushes too.
      q.enqueueAnswer(() => ran.push('answer1'));
    });
    await waitFor('all ran', () => ran.length === 5);
    assert.deepEqual(ran, ['answer0', 'answer1', 'push0', 'push1', 'push2']);
    // A cancelled answer does not run.
    const late = () => ran.push('late');
    q.enqueueAnswer(late);
    q.cancel(late);
    q.enqueue(() => ran.push('push3'));
    await waitFor('push3', () => ran.includes('push3'));
    assert.ok(!ran.includes('late'));
  });
});
