// PUT /v1/config?dry-run: what a config entry write would change, storing nothing. The write is
// made, with the catalog's own validation, to a copy of the store in memory; every registered
// proxy's snapshot is built against that would-be state by a proxycfg manager of its own (the
// same CA leaves and roots), generated, and compared resource by resource with what the agent
// would send it now. Only proxies whose resources differ are listed.
import { firstValueFrom, map, race, timer, type Observable } from 'rxjs';
import type { LeafManager } from '../ca/leaf-manager.js';
import { Catalog, type CatalogOptions } from '../catalog/catalog.js';
import type { ResourceSet } from '../core/resources.js';
import { ProxyConfigManager, type ProxyState } from '../proxycfg/manager.js';
import type { PortRange } from '../proxycfg/exposed-checks.js';
import type { SqliteStore } from '../store/sqlite.js';
import { diffResources, type ResourceChange } from '../xds/config-dump.js';
import { tryGenerateResources } from '../xds/generate.js';

/**
 * One proxy the write would affect: its resource-level `Changes`, or (empty changes) the
 * `Problems` that would keep it from getting new configuration.
 */
export type DryRunProxy = Readonly<{ ProxyID: string; Changes: readonly ResourceChange[]; Problems: readonly string[] }>;

export interface DryRunReport {
  readonly DryRun: true;
  /** Whether the write would be stored (false: its check-and-set index is stale). */
  readonly WouldWrite: boolean;
  /** The entry's kind and name, as given. */
  readonly Kind: string;
  readonly Name: string;
  readonly Proxies: readonly DryRunProxy[];
  /** Registered proxies whose resources would not change. */
  readonly Unchanged: number;
}

export interface DryRunDeps {
  readonly store: SqliteStore;
  readonly catalog: Catalog;
  readonly catalogOptions: CatalogOptions;
  readonly proxies: ProxyConfigManager;
  readonly leaves: LeafManager;
  readonly snapshotWaitMs?: number;
  /** The agent's Expose.Checks ports, so the would-be listeners are the ones the agent would serve. */
  readonly exposeCheckPorts?: PortRange;
}

type Resources = { readonly ok: true; readonly set: ResourceSet } | { readonly ok: false; readonly problems: string[] };

export function configDryRun(deps: DryRunDeps): (body: unknown, cas: number | undefined) => Promise<DryRunReport> {
  const waitMs = deps.snapshotWaitMs ?? 5000;
  const resources = async (watch: Observable<ProxyState>): Promise<Resources | undefined> => {
    const state = await firstValueFrom(race(watch, timer(waitMs).pipe(map(() => undefined))));
    if (!state || state.state !== 'snapshot') return undefined;
    const r = tryGenerateResources(state.snapshot);
    return r.ok ? { ok: true, set: r.resources } : { ok: false, problems: r.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`) };
  };
  return async (body, cas) => {
    const fork = deps.store.forkInMemory();
    try {
      const catalog = new Catalog(fork, deps.catalogOptions);
      catalog.setDefaultIntentionPolicy(await firstValueFrom(deps.catalog.watchDefaultIntentionPolicy()));
      // The catalog's own checks, against the would-be state: a bad entry is a 400 naming the field, as for a real write.
      const wouldWrite = await catalog.setConfigEntry(body, cas);
      const { Kind, Name } = body as { Kind?: unknown; Name?: unknown };
      const wouldBe = new ProxyConfigManager({ catalog, ca: deps.leaves, coalesceMs: 0, ...(deps.exposeCheckPorts ? { exposeCheckPorts: deps.exposeCheckPorts } : {}) });
      const ids = await firstValueFrom(deps.proxies.proxyIds());
      const proxies: DryRunProxy[] = [];
      for (const id of ids) {
        const [now, then] = await Promise.all([resources(deps.proxies.watch(id)), resources(wouldBe.watch(id))]);
        if (!then) continue;
        if (!then.ok) {
          proxies.push({ ProxyID: id, Changes: [], Problems: then.problems });
          continue;
        }
        const changes = diffResources(now?.ok ? now.set : new Map(), then.set);
        if (changes.length > 0) proxies.push({ ProxyID: id, Changes: changes, Problems: [] });
      }
      return { DryRun: true, Kind: String(Kind ?? ''), Name: String(Name ?? ''), WouldWrite: wouldWrite, Proxies: proxies, Unchanged: ids.length - proxies.length };
    } finally {
      await fork.drain();
      fork.close();
    }
  };
}
