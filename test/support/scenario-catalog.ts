// Scenario inputs -> the real catalog: the one piece between fixture files and the proxycfg
// path. Each scenario node gets its own Catalog (an agent on that node) over one in-memory
// store, and every input goes through the same operations the HTTP API calls:
// PUT /v1/agent/service/register, PUT /v1/config, PUT /v1/connect/intentions/exact.
// The CatalogSource handed to proxycfg is the catalog of the node the proxy is registered on
// (an agent serves the proxies registered with it).
import { firstValueFrom, of } from 'rxjs';
import { Catalog, type RemoteCatalog } from '../../src/catalog/catalog.js';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { CatalogSource } from '../../src/proxycfg/sources.js';
import { openStore } from '../../src/store/sqlite.js';
import type { Scenario } from './scenario.js';

/** A fixed clock so intention timestamps (not part of any resource) are deterministic too. */
const FIXED_CLOCK: Clock = { now: () => Date.parse('2026-11-24T00:00:00Z'), setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms) };

export interface ScenarioCatalog {
  readonly source: CatalogSource;
  /** The agent catalog of each scenario node, by node name. */
  readonly catalogs: ReadonlyMap<string, Catalog>;
  close(): void;
}

/** Replays a scenario's inputs into a real catalog over an in-memory store. */
export async function scenarioCatalog(scenario: Scenario): Promise<ScenarioCatalog> {
  const stores = [openStore(undefined)];
  // Other datacenters first: each with its own store and agents. The proxy's datacenter holds
  // each one's federation state (what that datacenter's catalog lists as its mesh gateways), and
  // asks it for its sidecars as it would over the WAN link.
  const remotes = new Map<string, Catalog>();
  for (const remote of scenario.remoteDatacenters) {
    const store = openStore(undefined);
    stores.push(store);
    for (const [i, node] of remote.nodes.entries()) {
      const catalog = new Catalog(store, { datacenter: remote.datacenter, node: node.Node, clock: FIXED_CLOCK });
      await catalog.registerNode(node.Address, {}, `00000000-0000-4000-9000-${String(i + 1).padStart(12, '0')}`);
      for (const body of node.Services) await catalog.registerService(body);
      remotes.set(remote.datacenter, catalog);
    }
  }
  const remote: RemoteCatalog = { watchConnectHealth: (dc, service) => remotes.get(dc)?.watchConnectHealth(service) ?? of([]) };
  const catalogs = new Map<string, Catalog>();
  let proxyCatalog: Catalog | undefined;
  for (const [i, node] of scenario.nodes.entries()) {
    const catalog = new Catalog(stores[0]!, {
      datacenter: scenario.datacenter,
      node: node.Node,
      defaultIntentionPolicy: scenario.defaultIntentionPolicy,
      clock: FIXED_CLOCK,
      remote,
    });
    catalogs.set(node.Node, catalog);
    await catalog.registerNode(node.Address, {}, `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
    for (const body of node.Services) {
      await catalog.registerService(body);
      if ((body.ID ?? body.Name) === scenario.proxy) proxyCatalog = catalog;
    }
  }
  if (!proxyCatalog) throw new Error(`scenario ${scenario.name}: proxy ${scenario.proxy} is not registered on any node`);
  for (const entry of scenario.configEntries) await proxyCatalog.setConfigEntry(entry);
  for (const i of scenario.intentions) await proxyCatalog.putIntention(i.SourceName, i.DestinationName, i);
  for (const [datacenter, catalog] of remotes) {
    const gateways = await firstValueFrom(catalog.watchMeshGateways());
    await proxyCatalog.putFederationState({ Datacenter: datacenter, MeshGateways: gateways, UpdatedAt: new Date(FIXED_CLOCK.now()).toISOString() });
  }
  return { source: proxyCatalog, catalogs, close: () => stores.forEach((s) => s.close()) };
}
