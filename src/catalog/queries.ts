// Read queries over the store: pure functions of a read transaction, so the same code answers
// a one-off read, a blocking query and a watch. Rows carry their indexes as CreateIndex/ModifyIndex.
import type { ReadTx, Relevance, Row, RowChange, TableName } from '../store/types.js';
import type { StoredIntentions } from './intentions/precedence.js';
import type { StoredCheck, StoredService } from './services/register.js';
import type { CatalogNode, CheckServiceNode, ConfigEntry, HealthCheck, ServiceInstance } from './types.js';

export function withIndexes<T>(row: Row<T>): T & { CreateIndex: number; ModifyIndex: number } {
  return { ...row.value, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex };
}

export function allServices(tx: ReadTx): ServiceInstance[] {
  return tx.list<StoredService>('services').map(withIndexes);
}

export function nodeServices(tx: ReadTx, node: string): ServiceInstance[] {
  return tx.list<StoredService>('services', `${node}/`).map(withIndexes);
}

export function serviceById(tx: ReadTx, node: string, id: string): ServiceInstance | undefined {
  const row = tx.get<StoredService>('services', `${node}/${id}`);
  return row && withIndexes(row);
}

export function nodes(tx: ReadTx): CatalogNode[] {
  return tx.list<Omit<CatalogNode, 'CreateIndex' | 'ModifyIndex'>>('nodes').map(withIndexes);
}

export function checks(tx: ReadTx, node?: string): HealthCheck[] {
  return tx.list<StoredCheck>('checks', node ? `${node}/` : '').map(withIndexes);
}

/** `/v1/catalog/services`: every service name with the union of its tags. */
/** A check with the tags of the service it belongs to (as Consul's health endpoints show it). */
export type CheckWithTags = HealthCheck & { readonly ServiceTags: readonly string[] };

export function checksWithTags(tx: ReadTx, checks: readonly HealthCheck[]): CheckWithTags[] {
  return checks.map((c) => ({ ...c, ServiceTags: c.ServiceID === '' ? [] : (tx.get<StoredService>('services', `${c.Node}/${c.ServiceID}`)?.value.Tags ?? []) }));
}

export function serviceTags(tx: ReadTx): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const s of allServices(tx)) for (const t of s.Tags) (out[s.Service] ??= new Set()).add(t);
  for (const s of allServices(tx)) out[s.Service] ??= new Set();
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()]));
}

export interface HealthFilter {
  /** Sidecars and Connect-native instances of the service instead of the service itself. */
  readonly connect?: boolean;
  readonly passing?: boolean;
  /** Instances carrying every one of these tags (Consul's repeated `?tag=`). */
  readonly tags?: readonly string[];
}

export function matchesService(s: ServiceInstance, name: string, connect: boolean): boolean {
  if (!connect) return s.Service === name;
  return (s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceName === name) || (s.Service === name && s.Connect?.Native === true);
}

/** `/v1/health/service/:name` and `/v1/health/connect/:name`. */
export function serviceHealth(tx: ReadTx, name: string, filter: HealthFilter = {}): CheckServiceNode[] {
  const out: CheckServiceNode[] = [];
  for (const row of tx.list<StoredService>('services')) {
    const v = row.value;
    if (!matchesService(v as ServiceInstance, name, filter.connect ?? false)) continue;
    if (filter.tags && !filter.tags.every((t) => v.Tags.includes(t))) continue;
    const nodeRow = tx.get<Omit<CatalogNode, 'CreateIndex' | 'ModifyIndex'>>('nodes', v.Node);
    if (!nodeRow) continue;
    const own = checks(tx, v.Node).filter((c) => c.ServiceID === v.ID || c.ServiceID === '');
    if (filter.passing && own.some((c) => c.Status !== 'passing')) continue;
    out.push({ Node: withIndexes(nodeRow), Service: withIndexes(row), Checks: own });
  }
  return out;
}

/** Every service instance on a registered node, with its node and no checks, by node then ID. */
export function allServiceNodes(tx: ReadTx): CheckServiceNode[] {
  const byName = new Map(nodes(tx).map((n) => [n.Node, n]));
  return allServices(tx).flatMap((s) => {
    const node = byName.get(s.Node);
    return node ? [{ Node: node, Service: s, Checks: [] }] : [];
  });
}

/** Every instance of a kind (the mesh gateways of this datacenter), with its checks, as serviceHealth answers. */
export function kindHealth(tx: ReadTx, kind: ServiceInstance['Kind']): CheckServiceNode[] {
  const names = new Set(tx.list<StoredService>('services').filter((r) => r.value.Kind === kind).map((r) => r.value.Service));
  return [...names].sort().flatMap((name) => serviceHealth(tx, name).filter((n) => n.Service.Kind === kind));
}

/** Transactions that can alter kindHealth(kind): an instance of the kind, its checks, a node or a node-level check. */
export function kindHealthRelevance(kind: ServiceInstance['Kind']): Relevance {
  const ofKind = (tx: ReadTx, node: string, serviceId: string) => tx.get<StoredService>('services', `${node}/${serviceId}`)?.value.Kind === kind;
  return (batch, tx) =>
    batch.changes.some((c) =>
      [c.row, c.prev].some((row) => {
        if (!row) return false;
        if (c.table === 'nodes') return true;
        if (c.table === 'services') return (row.value as StoredService).Kind === kind;
        if (c.table !== 'checks') return false;
        const check = row.value as StoredCheck;
        return check.ServiceID === '' || ofKind(tx, check.Node, check.ServiceID);
      }),
    );
}

/** What one committed transaction touched, as health watches see it. */
interface HealthTouched {
  /** A node or a node-level check changed: every service on some node may have. */
  readonly any: boolean;
  /** Names whose instances (or their checks) changed, for serviceHealth(name) ... */
  readonly services: ReadonlySet<string>;
  /** ... and for serviceHealth(name, { connect: true }) (sidecars by destination, native services). */
  readonly connect: ReadonlySet<string>;
}

function healthTouched(changes: readonly RowChange[], tx: ReadTx): HealthTouched {
  let any = false;
  const services = new Set<string>();
  const connect = new Set<string>();
  const add = (s: StoredService) => {
    services.add(s.Service);
    if (s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceName) connect.add(s.Proxy.DestinationServiceName);
    if (s.Connect?.Native) connect.add(s.Service);
  };
  for (const c of changes) {
    for (const row of [c.row, c.prev]) {
      if (!row) continue;
      if (c.table === 'nodes') any = true;
      else if (c.table === 'services') add(row.value as StoredService);
      else if (c.table === 'checks') {
        const check = row.value as StoredCheck;
        if (check.ServiceID === '') any = true;
        else {
          // A check whose instance is gone went with it, and that instance's change counts.
          const service = tx.get<StoredService>('services', `${check.Node}/${check.ServiceID}`);
          if (service) add(service.value);
        }
      }
    }
  }
  return { any, services, connect };
}

/**
 * The transactions that can alter serviceHealth(name): one changing an instance that matches
 * before or after, a check of a matching instance, a node or a node-level check. What the
 * transaction touched is worked out once for all health watches.
 */
export function serviceHealthRelevance(name: string, connect: boolean): Relevance {
  return (batch, tx) => {
    const touched = batch.derive('health', (changes) => healthTouched(changes, tx));
    return touched.any || (connect ? touched.connect : touched.services).has(name);
  };
}

/** Transactions changing one of these keys of `table`. */
export function keysRelevance(table: TableName, ...keys: string[]): Relevance {
  return (batch) => {
    const changed = batch.derive(`keys:${table}`, (changes) => new Set(changes.filter((c) => c.table === table).map((c) => c.key)));
    return keys.some((k) => changed.has(k));
  };
}

/** Transactions changing a key of `table` that starts with `prefix`. */
export function prefixRelevance(table: TableName, prefix: string): Relevance {
  return (batch) => batch.changes.some((c) => c.table === table && c.key.startsWith(prefix));
}

export function configEntry(tx: ReadTx, kind: string, name: string): ConfigEntry | undefined {
  const row = tx.get<ConfigEntry>('config_entries', `${kind}/${name}`);
  return row && withIndexes(row);
}

export function configEntries(tx: ReadTx, kind: string): ConfigEntry[] {
  return tx.list<ConfigEntry>('config_entries', `${kind}/`).map(withIndexes);
}

export function intentionEntries(tx: ReadTx): StoredIntentions[] {
  return configEntries(tx, 'service-intentions') as unknown as StoredIntentions[];
}
