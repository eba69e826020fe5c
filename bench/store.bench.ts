// Store benchmark: durable write throughput (SQLite, WAL, synchronous=FULL, one fsync per
// transaction), and the time from one write to 1000 watchers having seen it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { skip, take } from 'rxjs';
import { Catalog } from '../src/catalog/catalog.js';
import { SqliteStore } from '../src/store/sqlite.js';

const WRITES = 2000;
const WATCHERS = 1000;

async function writesPerSecond(store: SqliteStore, concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < WRITES) {
        const i = next++;
        await store.write((tx) => tx.put('config_entries', `service-defaults/svc-${i % 200}`, { Kind: 'service-defaults', Name: `svc-${i % 200}`, Protocol: 'http', Meta: { i: String(i) } }));
      }
    }),
  );
  return WRITES / ((performance.now() - started) / 1000);
}

async function wakeTime(catalog: Catalog, distinct: boolean): Promise<number> {
  await catalog.registerService({ Name: 'seed', Port: 1 });
  let woken = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const subs = Array.from({ length: WATCHERS }, (_, i) =>
    catalog
      .health(distinct ? `svc-${i}` : 'web')
      .pipe(skip(1), take(1))
      .subscribe(() => {
        if (++woken === WATCHERS) done();
      }),
  );
  const started = performance.now();
  // One transaction that changes what every watcher reads.
  await catalog.store.write((tx) => {
    for (let i = 0; i < (distinct ? WATCHERS : 1); i++) {
      const name = distinct ? `svc-${i}` : 'web';
      tx.put('services', `bench/${name}`, { ID: name, Service: name, Kind: '', Tags: [], Meta: {}, Address: '', Port: 80, Namespace: 'default', Datacenter: 'dc1', Node: 'bench' });
    }
    tx.put('nodes', 'bench', { ID: 'b', Node: 'bench', Address: '127.0.0.1', Datacenter: 'dc1', Meta: {} });
  });
  await all;
  const ms = performance.now() - started;
  subs.forEach((s) => s.unsubscribe());
  return ms;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  try {
    const durable = new SqliteStore(join(dir, 'bench.db'));
    console.log(`durable writes (WAL, synchronous=FULL), 1 writer:   ${(await writesPerSecond(durable, 1)).toFixed(0)} writes/s`);
    console.log(`durable writes (WAL, synchronous=FULL), 16 writers: ${(await writesPerSecond(durable, 16)).toFixed(0)} writes/s`);
    durable.close();
    const memory = new SqliteStore(':memory:');
    console.log(`in-memory writes (-dev), 1 writer:                  ${(await writesPerSecond(memory, 1)).toFixed(0)} writes/s`);
    memory.close();
    for (const distinct of [false, true]) {
      const store = new SqliteStore(join(dir, `wake-${distinct}.db`));
      const catalog = new Catalog(store, { datacenter: 'dc1', node: 'n1' });
      const ms = await wakeTime(catalog, distinct);
      console.log(`wake ${WATCHERS} watchers of ${distinct ? `${WATCHERS} distinct health queries` : 'one shared health query'}: ${ms.toFixed(1)} ms (write commit included)`);
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
