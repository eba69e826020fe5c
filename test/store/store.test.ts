import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { firstValueFrom, skip } from 'rxjs';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Indexed } from '../../src/store/types.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'switchyard-store-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('SqliteStore', () => {
  it('bumps one global index per transaction and stamps rows with Create/ModifyIndex', async () => {
    const store = new SqliteStore(':memory:');
    const a = await store.write((tx) => {
      tx.put('services', 'n1/web', { ID: 'web' });
      tx.put('checks', 'n1/c', { CheckID: 'c' });
    });
    const b = await store.write((tx) => tx.put('services', 'n1/web', { ID: 'web', Port: 80 }));
    assert.equal(a.index, 1);
    assert.equal(b.index, 2);
    const row = store.read((tx) => tx.get('services', 'n1/web'));
    assert.deepEqual(row, { key: 'n1/web', value: { ID: 'web', Port: 80 }, createIndex: 1, modifyIndex: 2 });
    assert.equal(store.read((tx) => tx.tableIndex('checks')), 1);
    assert.equal(store.read((tx) => tx.tableIndex('checks', 'services')), 2);
    store.close();
  });

  it('stores nothing when the transaction throws, and does not move the index', async () => {
    const store = new SqliteStore(':memory:');
    await store.write((tx) => tx.put('nodes', 'n1', { Node: 'n1' }));
    await assert.rejects(
      store.write((tx) => {
        tx.put('nodes', 'n2', { Node: 'n2' });
        throw new Error('no');
      }),
      /no/,
    );
    assert.equal(store.currentIndex(), 1);
    assert.deepEqual(store.read((tx) => tx.list('nodes').map((r) => r.key)), ['n1']);
    store.close();
  });

  it('group-commits concurrent writes, each at its own index, each seeing the ones before it', async () => {
    const store = new SqliteStore(':memory:');
    const results = await Promise.allSettled([
      store.write((tx) => tx.put('nodes', 'a', { n: 1 })),
      store.write((tx) => {
        tx.put('nodes', 'lost', {});
        throw new Error('rejected alone');
      }),
      store.write((tx) => tx.put('nodes', 'b', { sawA: tx.get('nodes', 'a') !== undefined })),
      store.write((tx) => tx.get('nodes', 'b') !== undefined),
    ]);
    assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value.index : 'rejected')), [1, 'rejected', 2, 2]);
    assert.deepEqual(store.read((tx) => tx.list('nodes').map((r) => [r.key, r.value, r.modifyIndex])), [['a', { n: 1 }, 1], ['b', { sawA: true }, 2]]);
    store.close();
  });

  it('lists through the earlier writes of its group and its own, sorted, as a read after the commit will', async () => {
    const store = new SqliteStore(':memory:');
    await store.write((tx) => ['b', 'd', 'f'].forEach((k) => tx.put('services', `n/${k}`, { k })));
    const show = (rows: readonly { key: string; value: unknown }[]) => rows.map((r) => `${r.key}=${(r.value as { k: string }).k}`);
    let seen: string[] = [];
    await Promise.all([
      store.write((tx) => {
        tx.put('services', 'n/a', { k: 'a' });
        tx.delete('services', 'n/d');
      }),
      store.write((tx) => {
        tx.put('services', 'n/e', { k: 'e' });
        tx.put('services', 'n/b', { k: 'B' });
        tx.put('services', 'other/x', { k: 'x' });
      }),
      store.write((tx) => {
        tx.put('services', 'n/c', { k: 'c' });
        seen = show(tx.list('services', 'n/'));
      }),
    ]);
    assert.deepEqual(seen, ['n/a=a', 'n/b=B', 'n/c=c', 'n/e=e', 'n/f=f']);
    assert.deepEqual(show(store.read((tx) => tx.list('services', 'n/'))), seen);
    store.close();
  });

  it('keeps every committed write across a reopen of the same file', async () => {
    const path = join(tempDir(), 'db', 'switchyard.db');
    const first = new SqliteStore(path);
    for (let i = 0; i < 20; i++) await first.write((tx) => tx.put('config_entries', `k/${i}`, { i }));
    await first.write((tx) => tx.delete('config_entries', 'k/3'));
    first.close();
    const second = new SqliteStore(path);
    assert.equal(second.currentIndex(), 21);
    assert.equal(second.read((tx) => tx.list('config_entries').length), 19);
    assert.equal(second.read((tx) => tx.tableIndex('config_entries')), 21);
    assert.equal(second.read((tx) => tx.get('config_entries', 'k/7'))?.createIndex, 8);
    second.close();
  });

  it('holds its file exclusively: a second store on it is refused, and the first keeps working', async () => {
    const path = join(tempDir(), 'db', 'switchyard.db');
    const first = new SqliteStore(path);
    await first.write((tx) => tx.put('config_entries', 'k', { v: 1 }));
    assert.throws(() => new SqliteStore(path), /switchyard\.db is in use by another Switchyard agent/);
    await first.write((tx) => tx.put('config_entries', 'k', { v: 2 }));
    first.close();
    const second = new SqliteStore(path);
    assert.deepEqual(second.read((tx) => tx.get('config_entries', 'k'))?.value, { v: 2 });
    second.close();
  });

  it('keeps its files (which hold the CA private keys) readable by their owner only', async () => {
    const dir = join(tempDir(), 'data');
    const path = join(dir, 'switchyard.db');
    const store = new SqliteStore(path);
    await store.putDoc('ca', { providerState: { signingKey: 'secret' } });
    for (const p of [path, `${path}-wal`]) assert.equal(statSync(p).mode & 0o077, 0, `${p} is mode ${(statSync(p).mode & 0o777).toString(8)}`);
    assert.equal(statSync(dir).mode & 0o077, 0, 'the folder it created');
    store.close();
  });

  it('watch emits the current value, then only when a table it reads changes the result', async () => {
    const store = new SqliteStore(':memory:');
    const seen: Indexed<number>[] = [];
    let runs = 0;
    const sub = store
      .watch('count', ['services'], (tx) => {
        runs++;
        return tx.list('services').length;
      })
      .subscribe((v) => seen.push(v));
    await store.write((tx) => tx.put('checks', 'x', 1)); // another table: query not re-run
    await store.write((tx) => tx.put('services', 'a', 1));
    await store.write((tx) => tx.put('services', 'a', 2)); // same count: no emission
    assert.deepEqual(seen, [
      { index: 1, value: 0 },
      { index: 2, value: 1 },
    ]);
    assert.equal(runs, 3);
    sub.unsubscribe();
    store.close();
  });

  it('shares one query between watchers of the same key and forgets it when they leave', async () => {
    const store = new SqliteStore(':memory:');
    let runs = 0;
    const make = () => store.watch('q', ['nodes'], (tx) => (runs++, tx.list('nodes').length));
    const subs = Array.from({ length: 1000 }, () => make().subscribe());
    assert.equal(store.liveQueries, 1);
    const next = firstValueFrom(make().pipe(skip(1)));
    await store.write((tx) => tx.put('nodes', 'n', {}));
    assert.equal((await next).value, 1);
    assert.equal(runs, 2, 'one run on subscribe, one per relevant write');
    subs.forEach((s) => s.unsubscribe());
    assert.equal(store.liveQueries, 0);
    store.close();
  });

  it('keeps CA documents as named JSON, watchable', async () => {
    const store = new SqliteStore(':memory:');
    const values: unknown[] = [];
    const sub = store.watchDoc<{ id: string }>('cluster').subscribe((v) => values.push(v.value));
    const idx = await store.putDoc('cluster', { id: 'abc' });
    assert.equal(store.getDoc<{ id: string }>('cluster')?.value.id, 'abc');
    assert.equal(store.getDoc('cluster')?.modifyIndex, idx);
    assert.deepEqual(values, [undefined, { id: 'abc' }]);
    sub.unsubscribe();
    store.close();
  });
});
