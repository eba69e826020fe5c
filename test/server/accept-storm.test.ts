import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { BehaviorSubject } from 'rxjs';
import { nullLogger } from '../../src/core/logger.js';
import { resourceSetOf, type ResourceSet } from '../../src/core/resources.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { startXdsServer } from '../../src/server/server.js';
import type { PendingResourceSet } from '../../src/server/source.js';
import { DeltaClient, node } from '../support/ads-client.js';
import { cluster } from './fixtures.js';

// More connections than Node's default listen backlog (511), opened while the server is busy.
const CONNECTIONS = 1200;
const BUSY_MS = 1200;

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('xDS server: a reconnect storm', () => {
  it('accepts every connection of a burst larger than the default backlog as soon as it is free again', async () => {
    const server = await startXdsServer({ source: { watch: () => new BehaviorSubject<ResourceSet | undefined>(undefined) }, logger: nullLogger });
    const sockets: Socket[] = [];
    try {
      const prefaceAt: number[] = [];
      for (let i = 0; i < CONNECTIONS; i++) {
        const s = connect(server.port, '127.0.0.1');
        // The server's HTTP/2 preface (its SETTINGS frame) is the first thing it sends.
        s.once('data', () => prefaceAt.push(performance.now()));
        s.on('error', () => undefined);
        sockets.push(s);
      }
      // The connects are issued on the next tick; then the process is busy (as with the work of
      // the streams that opened first) while the kernel completes the handshakes and queues them.
      await new Promise<void>((resolve) => setImmediate(resolve));
      busy(BUSY_MS);
      const free = performance.now();
      // A handshake the kernel dropped (backlog full) is retried by the client after 1 s, then 3 s
      // more: each of those connections would be accepted seconds late, or reset.
      const deadline = free + 5_000;
      while (prefaceAt.length < CONNECTIONS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const late = prefaceAt.filter((t) => t - free > 900).length;
      assert.equal(prefaceAt.length, CONNECTIONS, `${CONNECTIONS - prefaceAt.length} of ${CONNECTIONS} connections got no HTTP/2 preface within 5 s`);
      assert.equal(late, 0, `${late} of ${CONNECTIONS} connections got the server's preface more than 900 ms after it was free (their handshakes were dropped)`);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close(100);
    }
  });

  it('keeps the event loop turning while hundreds of streams open at once, each costing milliseconds to generate', async () => {
    const STREAMS = 400;
    const set = resourceSetOf([cluster('db')]);
    // Each proxy's set costs 3 ms to compute, as generating a real proxy's resources can.
    const pending: PendingResourceSet = () => (busy(3), set);
    const server = await startXdsServer({ source: { watch: () => new BehaviorSubject<PendingResourceSet>(pending) }, logger: nullLogger });
    const clients = Array.from({ length: STREAMS }, (_, i) => DeltaClient.open(server.port, node(`proxy-${i}`)));
    try {
      let last = performance.now();
      let longest = 0;
      const ticker = setInterval(() => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
      }, 5);
      for (const c of clients) c.subscribe(TypeUrl.Cluster);
      const first = await Promise.all(clients.map((c) => c.expect('the Clusters', 30_000)));
      clearInterval(ticker);
      assert.ok(first.every((r) => r.resources[0]?.name === 'db'));
      // 400 streams x 3 ms: handled inside the I/O callbacks that delivered them, the first
      // requests held the loop for more than a second at a time; sliced, the longest hold is a
      // slice plus scheduling noise (the bound leaves room for a loaded 2-core CI machine).
      assert.ok(longest < 500, `the event loop was held for ${longest.toFixed(0)} ms while the streams opened`);
    } finally {
      for (const c of clients) c.close();
      await server.close(100);
    }
  });
});
