// The remote catalog follows another datacenter's sidecars with blocking queries on the agent's
// own API (?dc=): it emits none at once (a proxy's other upstreams need not wait), then each new
// answer; a malformed or failed answer keeps the last good list. (The real path, through two
// agents, is in test/e2e/federation.test.ts; this one answers from a plain HTTP server.)
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { httpRemoteCatalog } from '../../src/cli/remote-catalog.js';
import { nullLogger } from '../../src/core/logger.js';
import { waitFor } from '../support/wait.js';

const entry = (port: number) => ({ Node: { Node: `n${port}`, Address: '10.2.0.1', Datacenter: 'dc2' }, Service: { ID: `db-${port}`, Service: 'db-sidecar-proxy', Port: port }, Checks: [{ Status: 'passing' }] });

describe('remote catalog over the WAN link', () => {
  it('emits none, then every new answer, and keeps the last good one through a malformed reply', async () => {
    const requests: string[] = [];
    const answers: ((res: ServerResponse) => void)[] = [
      (res) => res.writeHead(200, { 'x-consul-index': '5' }).end(JSON.stringify([entry(21000)])),
      (res) => res.writeHead(200, { 'x-consul-index': '6' }).end('{"not": "a list"}'),
      (res) => res.writeHead(200, { 'x-consul-index': '7' }).end(JSON.stringify([entry(21000), entry(21001)])),
    ];
    const held: ServerResponse[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      requests.push(req.url ?? '');
      const answer = answers.shift();
      if (answer) answer(res);
      else held.push(res); // a blocking query with nothing new: answered when the test ends
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const remote = httpRemoteCatalog({ baseUrl: () => `http://127.0.0.1:${port}`, logger: nullLogger });
    const seen: number[][] = [];
    const sub = remote.watchConnectHealth('dc2', 'db').subscribe((nodes) => seen.push(nodes.map((n) => n.Service.Port)));
    try {
      await waitFor('the second good answer, and the next query blocking from its index', () => seen.length >= 3 && requests.some((r) => /index=7&/.test(r)));
      assert.deepEqual(seen, [[], [21000], [21000, 21001]], 'none, the first answer, the third (the malformed one changed nothing)');
      assert.match(requests[0] ?? '', /^\/v1\/health\/connect\/db\?dc=dc2&index=0&wait=60s$/);
      assert.match(requests.at(-1) ?? '', /index=7&/, 'the next query blocks from the last index');
    } finally {
      sub.unsubscribe();
      for (const res of held) res.end('[]');
      server.closeAllConnections();
      server.close();
    }
  });
});
