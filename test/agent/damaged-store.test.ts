// Damaged storage is never loaded silently. Each case starts from a real data dir as a crashed
// agent leaves it: the files are copied while the agent runs (so its WAL still holds the recent
// commits, as after kill -9), then damaged the way a disk or an operator damages them, and an
// agent is started on the copy.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoreDamagedError } from '../../src/store/integrity.js';
import { TestAgent } from '../support/agent.js';
import { recordingLogger } from '../support/recording-logger.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-damage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FILES = ['switchyard.db', 'switchyard.db-wal', 'switchyard.db.index'];

/** A copy of `from` as it is on disk now. */
function copyDataDir(from: string, name: string): string {
  const to = join(dir, name);
  mkdirSync(to);
  for (const f of FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
  return to;
}

/** Overwrites `length` bytes at `offset` of `file` with `byte`. */
function overwrite(file: string, offset: number, length: number, byte = 0): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(length, byte), 0, length, offset);
  closeSync(fd);
}

async function refused(dataDir: string, message: RegExp): Promise<void> {
  await assert.rejects(TestAgent.start({ dataDir }), (err: Error) => {
    assert.ok(err instanceof StoreDamagedError, String(err));
    assert.match(err.message, message);
    assert.match(err.message, /restore the data dir from a backup/);
    assert.match(err.message, /-accept-store-loss/);
    return true;
  });
}

describe('damaged storage', () => {
  /** A data dir whose WAL holds 40 acknowledged registrations (copied while the agent ran). */
  let crashed: string;
  /** A data dir closed cleanly: everything checkpointed into the database file. */
  let clean: string;
  let acknowledged: number;

  before(async () => {
    const live = join(dir, 'live');
    const a = await TestAgent.start({ dataDir: live });
    for (let i = 0; i < 40; i++) assert.equal((await a.put('/v1/agent/service/register', { Name: `svc-${i}`, Port: 1000 + i, Meta: { pad: 'p'.repeat(400) } })).status, 200);
    acknowledged = a.agent.store.currentIndex();
    crashed = copyDataDir(live, 'crashed');
    await a.close();
    clean = copyDataDir(live, 'clean');
    assert.ok(statSync(join(crashed, 'switchyard.db-wal')).size > 40 * 4096, 'the WAL holds the registrations');
    assert.ok(!existsSync(join(clean, 'switchyard.db-wal')) || statSync(join(clean, 'switchyard.db-wal')).size === 0, 'a clean close checkpoints the WAL');
  });

  it('starts from an intact crashed data dir with everything acknowledged, and logs what it loaded', async () => {
    const logger = recordingLogger();
    const a = await TestAgent.start({ dataDir: copyDataDir(crashed, 'intact') }, { logger });
    try {
      assert.equal(a.agent.store.currentIndex(), acknowledged);
      const line = logger.entries.find((e) => e.msg === 'store loaded');
      assert.ok(line, 'a "store loaded" line');
      assert.equal(line.fields['index'], acknowledged);
      // The 40 registrations and the server's own `consul` service (kept in the catalog, as Consul's).
      assert.equal((line.fields['rows'] as Record<string, number>)['services'], 41);
      assert.match(String(line.fields['trustDomain']), /\.consul$/);
    } finally {
      await a.close();
    }
  });

  it('refuses a truncated WAL that lost acknowledged writes, naming both indexes', async () => {
    const d = copyDataDir(crashed, 'truncated');
    const wal = join(d, 'switchyard.db-wal');
    truncateSync(wal, Math.floor(statSync(wal).size / 2));
    await refused(d, new RegExp(`acknowledged writes up to index ${acknowledged} and the database holds only index \\d+`));
  });

  it('refuses a WAL corrupted in the middle', async () => {
    const d = copyDataDir(crashed, 'corrupted-wal');
    const wal = join(d, 'switchyard.db-wal');
    overwrite(wal, Math.floor(statSync(wal).size / 3), 512, 0xa5);
    await refused(d, /acknowledged writes up to index/);
  });

  it('refuses a database file emptied to zero bytes: it held a cluster and now holds none', async () => {
    const d = copyDataDir(clean, 'emptied');
    truncateSync(join(d, 'switchyard.db'), 0);
    await refused(d, new RegExp(`it held a cluster \\(index ${acknowledged}\\) and now holds none`));
  });

  it('refuses a zeroed database file as damaged', async () => {
    const d = copyDataDir(clean, 'zeroed');
    const db = join(d, 'switchyard.db');
    overwrite(db, 0, statSync(db).size);
    await refused(d, /the database .*switchyard\.db is damaged/);
  });

  it('refuses a database whose pages fail the integrity check, with what SQLite found', async () => {
    const d = copyDataDir(clean, 'bad-pages');
    const db = join(d, 'switchyard.db');
    // Pages 2 and 3 hold the tables' b-trees; the header (page 1) is left intact.
    overwrite(db, 4096, 8192, 0x5a);
    await refused(d, /the database .*switchyard\.db is damaged: /);
  });

  it('with -accept-store-loss serves what is left of a truncated WAL, says so, and keeps serving new writes', async () => {
    const d = copyDataDir(crashed, 'accepted');
    const wal = join(d, 'switchyard.db-wal');
    truncateSync(wal, Math.floor(statSync(wal).size / 2));
    const logger = recordingLogger();
    const a = await TestAgent.start({ dataDir: d, acceptStoreLoss: true }, { logger });
    try {
      const left = a.agent.store.currentIndex();
      assert.ok(left < acknowledged);
      assert.ok(logger.entries.some((e) => e.level === 'warn' && String(e.fields['recovered']).includes(`below the acknowledged ${acknowledged}`)));
      assert.equal((await a.put('/v1/agent/service/register', { Name: 'after', Port: 9 })).status, 200);
    } finally {
      await a.close();
    }
    // The decision is remembered: the next start is a normal one.
    const again = await TestAgent.start({ dataDir: d });
    await again.close();
  });

  it('with -accept-store-loss moves a failed database aside and begins a new cluster', async () => {
    const d = copyDataDir(clean, 'fresh');
    overwrite(join(d, 'switchyard.db'), 0, statSync(join(d, 'switchyard.db')).size);
    const a = await TestAgent.start({ dataDir: d, acceptStoreLoss: true });
    try {
      assert.ok(readdirSync(d).some((f) => f.startsWith('switchyard.db.damaged-')), 'the damaged file is kept');
      assert.equal(Object.keys((await a.get('/v1/agent/services')).json as object).length, 0);
    } finally {
      await a.close();
    }
  });
});
