import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REGISTRATION_BODY_BYTES, SMALL_BODY_BYTES } from '../../src/api/route.js';
import { BodyDecoder } from '../../src/api/body-decoder.js';
import { TestAgent } from '../support/agent.js';
import { RawConnection, request } from '../support/raw-http.js';

/**
 * A service-intentions entry whose JSON text is about `bytes` long: sources with long
 * descriptions, each within its own bounds, so that only the body's size decides.
 */
function configEntryOf(bytes: number): string {
  const source = (i: number, d: number) => ({ Name: `src-${String(i).padStart(5, "0")}`, Action: 'allow', Description: 'd'.repeat(d) });
  const one = JSON.stringify(source(0, 500)).length + 1;
  const Sources = Array.from({ length: Math.floor(bytes / one) }, (_, i) => source(i, 500));
  const entry = { Kind: 'service-intentions', Name: 'web', Sources };
  // The last source's description takes up what is left, so the text is `bytes` long or just over.
  const short = bytes - JSON.stringify(entry).length;
  if (short > 0) Sources.push(source(Sources.length, Math.max(0, Math.min(512, short - (one - 500)))));
  return JSON.stringify(entry);
}

describe('request body limits', () => {
  let a: TestAgent;
  let port: number;
  before(async () => {
    a = await TestAgent.start({ httpMaxBodyBytes: 2 * 1024 * 1024 });
    port = Number(a.agent.httpAddress.split(':').pop());
  });
  after(() => a.close());

  it('refuses a declared Content-Length above the route limit with 413 naming the limit, before reading the body, and the connection survives', async () => {
    const before = a.agent.store.currentIndex();
    const c = await RawConnection.open(port);
    try {
      // Only the headers are sent: the answer cannot have waited for a body.
      await c.send(`PUT /v1/agent/service/register HTTP/1.1\r\nHost: t\r\nContent-Length: ${REGISTRATION_BODY_BYTES + 1}\r\n\r\n`);
      const r = await c.response();
      assert.equal(r.status, 413);
      assert.match(r.body, new RegExp(`takes at most ${REGISTRATION_BODY_BYTES} bytes`));
      // The body the client was still sending is dropped, not stored, and the connection carries the next request.
      await c.send('x'.repeat(REGISTRATION_BODY_BYTES + 1));
      await c.send(request('GET', '/v1/status/leader'));
      assert.equal((await c.response()).status, 200);
    } finally {
      c.destroy();
    }
    assert.equal(a.agent.store.currentIndex(), before);
  });

  it('closes the connection after a 413 when the declared body is too large to drop (over 64 MiB)', async () => {
    const c = await RawConnection.open(port);
    try {
      await c.send(`PUT /v1/config HTTP/1.1\r\nHost: t\r\nContent-Length: ${64 * 1024 * 1024 + 1}\r\n\r\n`);
      const r = await c.response();
      assert.equal(r.status, 413);
      assert.equal(r.headers.connection, 'close');
      await c.closedByServer();
    } finally {
      c.destroy();
    }
  });

  it('lets an HTTP client that sends a body over the limit read the 413 instead of a reset', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await a.put('/v1/agent/service/register', JSON.stringify({ Name: 'web', Meta: { a: 'x'.repeat(REGISTRATION_BODY_BYTES) } }));
      assert.equal(r.status, 413);
    }
  });

  it('stops reading a chunked body as soon as it passes the limit', async () => {
    const c = await RawConnection.open(port);
    try {
      await c.send('PUT /v1/agent/check/pass/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = 'x'.repeat(16 * 1024);
      // A little more than the small limit, and then the body never ends: only the limit answers.
      for (let sent = 0; sent <= SMALL_BODY_BYTES; sent += chunk.length) await c.send(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      const r = await c.response();
      assert.equal(r.status, 413);
      assert.match(r.body, new RegExp(`at most ${SMALL_BODY_BYTES} bytes`));
    } finally {
      c.destroy();
    }
  });

  it('takes config entries up to the configured limit and refuses one byte more, naming the setting', async () => {
    const limit = 2 * 1024 * 1024;
    // Trailing blanks are valid JSON: the body is exactly `limit` bytes, then one more.
    const entry = configEntryOf(limit - 1024);
    const fits = entry + ' '.repeat(limit - Buffer.byteLength(entry));
    assert.equal(Buffer.byteLength(fits), limit);
    assert.equal((await a.put('/v1/config', fits)).status, 200);
    const r = await a.put('/v1/config', `${fits} `);
    assert.equal(r.status, 413);
    assert.match(r.text, /at most 2097152 bytes \(limits\.http_max_body_bytes, -http-max-body-bytes\)/);
  });

  it('answers other requests while a large body is decoded', async () => {
    // A body just under the limit, decoded in the worker; the leader ping is answered meanwhile.
    const big = configEntryOf(1024 * 1024);
    const [put, leader] = await Promise.all([a.put('/v1/config', big), a.get('/v1/status/leader')]);
    assert.equal(put.status, 200);
    assert.equal(leader.status, 200);
  });

  it('refuses a wrong body the same way whether decoded in place or in the worker', async () => {
    const decoder = new BodyDecoder(16);
    try {
      // decode() takes the bytes over (a large body's buffer moves to the worker): one copy per call.
      const bad = () => new TextEncoder().encode(`{"a":${'['.repeat(70)}${']'.repeat(70)}}`);
      await assert.rejects(decoder.decode(bad()), /a(\[0\])+: is nested deeper than 64/);
      await assert.rejects(decoder.decode(new Uint8Array([0x7b, 0xff, 0x7d])), /not valid UTF-8/);
      assert.deepEqual(await decoder.decode(new TextEncoder().encode(`{"ok":${'1'.repeat(3)}}`)), { ok: 111 });
      const inPlace = new BodyDecoder();
      await assert.rejects(inPlace.decode(bad()), /a(\[0\])+: is nested deeper than 64/);
      await inPlace.close();
    } finally {
      await decoder.close();
    }
  });

  it('keeps small routes small: a check update body over 64 KiB is 413', async () => {
    const r = await a.call('PUT', '/v1/agent/check/update/x', JSON.stringify({ Status: 'passing', Output: 'o'.repeat(SMALL_BODY_BYTES) }));
    assert.equal(r.status, 413);
  });
});

describe('a request arriving as the raw request line helper builds it', () => {
  it('keeps the connection usable after a refused small request', async () => {
    const a = await TestAgent.start();
    const port = Number(a.agent.httpAddress.split(':').pop());
    const c = await RawConnection.open(port);
    try {
      await c.send(request('PUT', '/v1/agent/service/register', '{"Name":'));
      assert.equal((await c.response()).status, 400);
      await c.send(request('GET', '/v1/status/leader'));
      assert.equal((await c.response()).status, 200);
    } finally {
      c.destroy();
      await a.close();
    }
  });
});
