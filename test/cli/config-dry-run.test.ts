// `switchyard config write -dry-run FILE` (PUT /v1/config?dry-run) against a real in-process
// agent: the proxies whose resources the write would change and the resource-level diff for
// each, with nothing stored; bad input is a 400 naming the field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { TestAgent } from '../support/agent.js';

interface Report { DryRun: boolean; WouldWrite: boolean; Unchanged: number; Proxies: { ProxyID: string; Changes: { TypeUrl: string; Name: string; Change: string }[]; Problems: string[] }[] }

describe('config write -dry-run', () => {
  let agent: TestAgent;
  const dir = mkdtempSync(join(tmpdir(), 'sy-dryrun-'));
  const file = (name: string, body: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(body));
    return p;
  };
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { SWITCHYARD_HTTP_ADDR: agent.agent.httpAddress } });
    return { code, out, err };
  };

  before(async () => {
    agent = await TestAgent.start();
    for (const body of [
      { ID: 'web', Name: 'web', Port: 8080, Connect: { SidecarService: { Port: 21700, Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191 }] } } } },
      { ID: 'db', Name: 'db', Port: 5432, Connect: { SidecarService: { Port: 21701 } } },
      { ID: 'cache', Name: 'cache', Port: 6379, Connect: { SidecarService: { Port: 21702 } } },
    ]) assert.equal((await agent.put('/v1/agent/service/register', body)).status, 200);
  });
  after(async () => {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the proxies a protocol change would reconfigure, with each resource changed, and stores nothing', async () => {
    const entry = file('db-http.json', { Kind: 'service-defaults', Name: 'db', Protocol: 'http' });
    const r = await run('config', 'write', '-dry-run', '-format', 'json', entry);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as Report;
    assert.equal(report.DryRun, true);
    assert.equal(report.WouldWrite, true);
    assert.deepEqual(report.Proxies.map((p) => p.ProxyID), ['db-sidecar-proxy', 'web-sidecar-proxy'], 'cache is not affected');
    assert.equal(report.Unchanged, 1);
    const web = report.Proxies.find((p) => p.ProxyID === 'web-sidecar-proxy');
    assert.ok(web?.Changes.some((c) => c.TypeUrl === TypeUrl.Listener && c.Name.startsWith('db:') && c.Change === 'changed'), JSON.stringify(web?.Changes.map((c) => [c.Name, c.Change])));
    assert.ok(web?.Changes.some((c) => c.TypeUrl === TypeUrl.Route && c.Change === 'added'), 'http gets a route');
    // Nothing was stored.
    assert.equal((await agent.get('/v1/config/service-defaults/db')).status, 404);

    const text = await run('config', 'write', '-dry-run', entry);
    assert.match(text.out, /^Dry run of service-defaults\/db: nothing was stored\./);
    assert.match(text.out, /^2 proxy\(ies\) would change, 1 would not:/m);
    assert.match(text.out, /^web-sidecar-proxy:\n(?: .*\n)*  ~ Listener db:127\.0\.0\.1:9191 \(changed\)\n {6}[-+~] /m);
    assert.equal((await agent.get('/v1/config/service-defaults/db')).status, 404);
  });

  it('says when no proxy would change', async () => {
    const r = await run('config', 'write', '-dry-run', file('other.json', { Kind: 'service-defaults', Name: 'nobody-uses-this', Protocol: 'http' }));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /No proxy's resources would change \(3 proxies checked\)/);
  });

  it('refuses a bad entry as the write would, naming the field, and stores nothing', async () => {
    const bad = await agent.put('/v1/config?dry-run=true', { Kind: 'service-defaults', Name: 'db', Protocol: 'carrier-pigeon' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Protocol/);
    const param = await agent.put('/v1/config?dry-run=maybe', { Kind: 'service-defaults', Name: 'db', Protocol: 'http' });
    assert.equal(param.status, 400);
    assert.match(param.text, /dry-run: must be true or false/);
    assert.equal((await agent.get('/v1/config/service-defaults/db')).status, 404);
    // Without the parameter the write is the real one.
    assert.equal((await run('config', 'write', file('real.json', { Kind: 'service-defaults', Name: 'db', Protocol: 'http' }))).code, 0);
    assert.equal((await agent.get('/v1/config/service-defaults/db')).status, 200);
  });
});
