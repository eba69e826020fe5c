import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { BehaviorSubject } from 'rxjs';
import { nullLogger } from '../../src/core/logger.js';
import type { ResourceSet } from '../../src/core/resources.js';
import { startXdsServer } from '../../src/server/server.js';

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
});
