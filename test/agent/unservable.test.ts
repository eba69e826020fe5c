// A data dir that already holds a record the agent cannot serve (written before the bounds on
// JSON bodies existed): the agent starts, names the record in its log, answers 500 for it alone,
// leaves it out of lists, and lets it be replaced or deleted.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killAgents, spawnAgent, type SpawnedAgent } from '../support/agent-process.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-unservable-'));
after(() => {
  killAgents();
  rmSync(dir, { recursive: true, force: true });
});

/** A value nested `levels` deep, as JSON text (what today's code stored for a 4,150-deep Config). */
const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

/** Writes rows into the SQLite file the way the store commits them: the row, the table index, the global index. */
function writeRows(file: string, rows: { tbl: string; key: string; value: string }[]): void {
  const db = new Database(file);
  try {
    db.transaction(() => {
      let index = db.prepare("SELECT value FROM meta WHERE key = 'index'").pluck().get() as number;
      for (const r of rows) {
        index++;
        db.prepare('INSERT INTO rows (tbl, key, value, create_index, modify_index) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value, modify_index = excluded.modify_index').run(r.tbl, r.key, r.value, index, index);
        db.prepare('INSERT INTO table_index (tbl, idx) VALUES (?, ?) ON CONFLICT (tbl) DO UPDATE SET idx = excluded.idx').run(r.tbl, index);
      }
      db.prepare("UPDATE meta SET value = ? WHERE key = 'index'").run(index);
    })();
  } finally {
    db.close();
  }
}

async function get(base: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path);
  return { status: res.status, text: await res.text() };
}

describe('a stored record that cannot be served', () => {
  const dataDir = join(dir, 'data');
  let agent: SpawnedAgent;

  before(async () => {
    // A real data dir: the first agent creates the database, the CA and a few records.
    const first = await spawnAgent(['-data-dir', dataDir]);
    for (const body of [{ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }, { Kind: 'service-defaults', Name: 'api', Protocol: 'grpc' }]) {
      assert.equal((await fetch(`${first.base}/v1/config`, { method: 'PUT', body: JSON.stringify(body) })).status, 200);
    }
    assert.equal((await fetch(`${first.base}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'db', Port: 5432 }) })).status, 200);
    first.child.kill('SIGTERM');
    await first.exited;
    const service = { ID: 'deep-proxy', Service: 'deep-proxy', Kind: 'connect-proxy', Tags: [], Meta: {}, Address: '', Port: 21000, Namespace: 'default', Datacenter: 'dc1', Node: 'proc' };
    writeRows(join(dataDir, 'switchyard.db'), [
      { tbl: 'config_entries', key: 'proxy-defaults/global', value: `{"Kind":"proxy-defaults","Name":"global","Config":${deep(4150)}}` },
      { tbl: 'config_entries', key: 'service-defaults/deep', value: `{"Kind":"service-defaults","Name":"deep","Meta":${deep(100)}}` },
      { tbl: 'services', key: 'proc/deep-proxy', value: JSON.stringify(service).replace('"Meta":{}', `"Proxy":{"DestinationServiceName":"db","Config":${deep(4150)}},"Meta":{}`) },
    ]);
    agent = await spawnAgent(['-data-dir', dataDir]);
  });
  after(async () => {
    agent.child.kill('SIGTERM');
    await agent.exited;
  });

  it('starts, and names each such record (table and key) in a log line at startup', async () => {
    await waitFor('the startup log lines', () => (agent.stderr().match(/stored record cannot be served/g) ?? []).length === 3);
    const lines = agent.stderr().split('\n').filter((l) => l.includes('stored record cannot be served')).map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(lines.map((l) => `${l.table}/${l.key}`).sort(), ['config_entries/proxy-defaults/global', 'config_entries/service-defaults/deep', 'services/proc/deep-proxy']);
    assert.match(lines.find((l) => l.key === 'proxy-defaults/global')?.reason ?? '', /Config(\.a){63}: is nested deeper than 64 levels/);
  });

  it('answers 500 for that record only, naming it, and keeps serving everything else', async () => {
    const one = await get(agent.base, '/v1/config/proxy-defaults/global');
    assert.equal(one.status, 500);
    assert.match(one.text, /stored record config_entries "proxy-defaults\/global" cannot be served: Config(\.a){63}: is nested deeper than 64 levels/);
    assert.equal((await get(agent.base, '/v1/agent/service/deep-proxy')).status, 500);
    assert.equal((await get(agent.base, '/v1/config/service-defaults/deep')).status, 500);
    assert.equal((await get(agent.base, '/v1/config/service-defaults/web')).status, 200);
    assert.equal((await get(agent.base, '/v1/status/leader')).status, 200);
    assert.equal(agent.child.exitCode, null, 'the agent is still running');
  });

  it('leaves it out of lists rather than failing them', async () => {
    const list = await get(agent.base, '/v1/config/service-defaults');
    assert.equal(list.status, 200);
    assert.deepEqual((JSON.parse(list.text) as { Name: string }[]).map((e) => e.Name), ['api', 'web']);
    assert.deepEqual(JSON.parse((await get(agent.base, '/v1/config/proxy-defaults')).text), []);
    const services = await get(agent.base, '/v1/agent/services');
    assert.deepEqual(Object.keys(JSON.parse(services.text) as object), ['db']);
    // The catalog also holds the server's own `consul` service, as Consul's does.
    assert.deepEqual(JSON.parse((await get(agent.base, '/v1/catalog/services')).text), { consul: [], db: [] });
  });

  it('serves it again once it is replaced, and deletes it', async () => {
    const put = await fetch(`${agent.base}/v1/config`, { method: 'PUT', body: JSON.stringify({ Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } }) });
    assert.equal(put.status, 200, await put.text());
    const again = await get(agent.base, '/v1/config/proxy-defaults/global');
    assert.equal(again.status, 200);
    assert.deepEqual((JSON.parse(again.text) as { Config: unknown }).Config, { protocol: 'http' });
    assert.equal((await fetch(`${agent.base}/v1/config/service-defaults/deep`, { method: 'DELETE' })).status, 200);
    assert.equal((await get(agent.base, '/v1/config/service-defaults/deep')).status, 404);
    assert.equal((await fetch(`${agent.base}/v1/agent/service/deregister/deep-proxy`, { method: 'PUT' })).status, 200);
    assert.equal((await get(agent.base, '/v1/agent/service/deep-proxy')).status, 404);
  });
});
