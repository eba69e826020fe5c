// Stream admission: what each ticket holds is counted once and released once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeenOnce, StreamAdmission, type Ticket } from '../../src/server/admission.js';

function ticket(a: StreamAdmission): Ticket {
  const r = a.admit();
  assert.ok('ticket' in r, 'refusal' in r ? r.refusal : '');
  return r.ticket;
}

describe('stream admission', () => {
  it('counts streams in all, per node and waiting, and releases each exactly once', () => {
    const a = new StreamAdmission({ maxStreams: 3, maxStreamsPerNode: 2, maxWaitingStreams: 1 });
    const [t1, t2, t3] = [ticket(a), ticket(a), ticket(a)];
    const full = a.admit();
    assert.ok('refusal' in full && full.refusedInARow === 1);
    assert.equal(t1.claimNode('web'), undefined);
    assert.equal(t1.claimNode('web'), undefined, 'a second claim by one stream counts nothing');
    assert.equal(t2.claimNode('web'), undefined);
    assert.match(t3.claimNode('web') ?? '', /node "web" already has the most open xDS streams one node id may have \(2\)/);
    assert.equal(t3.startWaiting('db'), undefined);
    assert.match(t2.startWaiting('web') ?? '', /proxy "web" is not registered, and the most streams that may wait for a registration \(1\) already do/);
    assert.deepEqual(a.counts(), { open: 3, waiting: 1, nodes: 1 });
    t3.release();
    t3.release();
    assert.deepEqual(a.counts(), { open: 2, waiting: 0, nodes: 1 });
    t1.release();
    t2.release();
    assert.deepEqual(a.counts(), { open: 0, waiting: 0, nodes: 0 });
    const back = a.admit();
    assert.ok('ticket' in back && back.refusedBefore === 1, 'the refusals before it are reported once');
    assert.ok('ticket' in back && back.ticket.claimNode('web') === undefined);
  });

  it('remembers a bounded number of keys, forgetting the oldest first', () => {
    const seen = new SeenOnce(2);
    assert.equal(seen.first('a'), true);
    assert.equal(seen.first('a'), false);
    seen.first('b');
    seen.first('c');
    assert.equal(seen.first('a'), true, 'evicted');
    seen.forget('c');
    assert.equal(seen.first('c'), true);
  });
});
