import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiServer } from '../../src/api/server.js';
import { ConflictError, NotFoundError, PermissionDeniedError, RateLimitError, ValidationError } from '../../src/core/errors.js';
import { TestAgent } from '../support/agent.js';
import { recordingLogger } from '../support/recording-logger.js';
import { open } from '../../src/api/acl-guard.js';

/** The routes these tests serve require nothing. */
const TEST = open('a test route');

/** `{"a":{"a":...}}` nested `depth` deep: JSON.stringify overflows the call stack on it. */
function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('HTTP server', () => {
  let server: ApiServer;
  let base: string;
  const thrower = (err: Error) => () => {
    throw err;
  };
  before(async () => {
    server = new ApiServer({
      routes: [
        [
          { method: 'GET', acl: TEST, pattern: '/v1/bad', handler: thrower(ValidationError.of('Field.Sub', 'is wrong')) },
          { method: 'GET', acl: TEST, pattern: '/v1/missing', handler: thrower(new NotFoundError('not here')) },
          { method: 'GET', acl: TEST, pattern: '/v1/conflict', handler: thrower(new ConflictError('taken')) },
          { method: 'GET', acl: TEST, pattern: '/v1/slow', handler: thrower(new RateLimitError('slow down')) },
          { method: 'GET', acl: TEST, pattern: '/v1/denied', handler: thrower(new PermissionDeniedError('no')) },
          { method: 'GET', acl: TEST, pattern: '/v1/boom', handler: thrower(new Error('kaput')) },
          { method: 'GET', acl: TEST, pattern: '/v1/echo/:name/*rest', handler: (req) => ({ body: req.params }) },
        ],
      ],
    });
    const addr = await server.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${addr.port}`;
  });
  after(() => server.close());

  it('maps core errors to status codes with plain-text bodies', async () => {
    for (const [path, status, text] of [
      ['/v1/bad', 400, 'Field.Sub: is wrong\n'],
      ['/v1/missing', 404, 'not here\n'],
      ['/v1/conflict', 409, 'taken\n'],
      ['/v1/slow', 429, 'slow down\n'],
      ['/v1/denied', 403, 'no\n'],
      ['/v1/boom', 500, 'kaput\n'],
    ] as const) {
      const res = await fetch(base + path);
      assert.equal(res.status, status, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      assert.equal(await res.text(), text);
    }
  });

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    assert.equal((await fetch(`${base}/v1/nothing`)).status, 404);
    const wrong = await fetch(`${base}/v1/bad`, { method: 'DELETE' });
    assert.equal(wrong.status, 405);
  });

  it('decodes path parameters and the remainder', async () => {
    const res = await fetch(`${base}/v1/echo/a%20b/x/y`);
    assert.deepEqual(await res.json(), { name: 'a b', rest: 'x/y' });
  });

  it('answers 400 to a malformed percent-escape in the path, and keeps serving', async () => {
    const res = await fetch(`${base}/v1/echo/%E0%A4%A/x`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /invalid request path .*URI malformed/);
    assert.equal((await fetch(`${base}/v1/echo/a/b`)).status, 200);
  });

  it('answers 500 for a response that cannot be serialized, logs what failed, and keeps serving', async () => {
    const log = recordingLogger();
    const srv = new ApiServer({ logger: log, routes: [[{ method: 'GET', acl: TEST, pattern: '/v1/deep', handler: () => ({ body: nested(100_000) }) }, { method: 'GET', acl: TEST, pattern: '/v1/ok', handler: () => ({ body: 'ok' }) }]] });
    const { port } = await srv.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/deep`);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /cannot serialize the response.*Maximum call stack/);
      const entry = log.entries.find((e) => e.level === 'error');
      assert.deepEqual([entry?.fields.method, entry?.fields.path], ['GET', '/v1/deep']);
      assert.match(String(entry?.fields.err), /Maximum call stack/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/v1/ok`)).status, 200);
    } finally {
      await srv.close();
    }
  });

  it('accepts route lists added later (for example the CA\'s)', async () => {
    server.addRoutes([{ method: 'GET', acl: TEST, pattern: '/v1/connect/ca/roots', handler: () => ({ body: { Roots: [] } }) }]);
    assert.deepEqual(await (await fetch(`${base}/v1/connect/ca/roots`)).json(), { Roots: [] });
  });
});

describe('/v1/status', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  it('names this agent as the leader', async () => {
    const r = await a.get('/v1/status/leader');
    assert.equal(r.status, 200);
    assert.equal(r.json, a.agent.httpAddress);
  });
});
