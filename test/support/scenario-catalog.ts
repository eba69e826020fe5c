// Scenario inputs -> a CatalogSource: the one piece between fixture files and the proxycfg path.
//
// TEMPORARY: this is an in-memory stand-in built from BehaviorSubjects, because the real catalog
// (src/catalog) is being written in a parallel branch. Once it lands, replace the body of
// `scenarioCatalog` with: create the real Catalog over an in-memory store, apply each scenario
// input through its registration / config-entry / intention operations, and return its
// CatalogSource. The golden test does not change.
import { BehaviorSubject, map, Observable } from 'rxjs';
import type { CatalogNode, CheckServiceNode, ConfigEntry, HealthCheck, Intention, ServiceInstance } from '../../src/catalog/types.js';
import type { CatalogSource } from '../../src/proxycfg/sources.js';
import type { AgentServiceRegistration, IntentionInput, Scenario } from './scenario.js';

interface State {
  readonly nodes: readonly CatalogNode[];
  readonly instances: readonly ServiceInstance[];
  readonly checks: readonly HealthCheck[];
  readonly entries: readonly ConfigEntry[];
  readonly intentions: readonly Intention[];
  readonly defaultPolicy: 'allow' | 'deny';
}

/** Consul's intention precedence: exact beats wildcard, destination before source. */
export function intentionPrecedence(i: Pick<IntentionInput, 'SourceName' | 'DestinationName'>): number {
  const src = i.SourceName !== '*';
  const dst = i.DestinationName !== '*';
  if (dst) return src ? 9 : 8;
  return src ? 6 : 5;
}

export class ScenarioCatalog implements CatalogSource {
  private index = 1;
  readonly state: BehaviorSubject<State>;

  constructor(private readonly datacenter: string, defaultPolicy: 'allow' | 'deny') {
    this.state = new BehaviorSubject<State>({ nodes: [], instances: [], checks: [], entries: [], intentions: [], defaultPolicy });
  }

  private update(f: (s: State) => State): void {
    this.state.next(f(this.state.value));
  }

  register(node: string, address: string, body: AgentServiceRegistration): void {
    const idx = ++this.index;
    const id = body.ID ?? body.Name;
    const instance: ServiceInstance = {
      ID: id,
      Service: body.Name,
      Kind: body.Kind ?? '',
      Tags: body.Tags ?? [],
      Meta: body.Meta ?? {},
      Address: body.Address ?? '',
      Port: body.Port ?? 0,
      Namespace: 'default',
      Datacenter: this.datacenter,
      Node: node,
      ...(body.Proxy ? { Proxy: body.Proxy as unknown as ServiceInstance['Proxy'] } : {}),
      ...(body.Connect ? { Connect: body.Connect } : {}),
      CreateIndex: idx,
      ModifyIndex: idx,
    };
    const defs = [...(body.Check ? [body.Check] : []), ...(body.Checks ?? [])];
    const checks: HealthCheck[] = defs.map((c, n) => ({
      Node: node,
      CheckID: c.CheckID ?? `service:${id}${defs.length > 1 ? `:${n + 1}` : ''}`,
      Name: c.Name ?? `Service '${body.Name}' check`,
      // A new agent check starts critical unless its registration gives a status (Consul).
      Status: c.Status ?? 'critical',
      Notes: c.Notes ?? '',
      Output: '',
      ServiceID: id,
      ServiceName: body.Name,
      Type: c.TTL ? 'ttl' : '',
      CreateIndex: idx,
      ModifyIndex: idx,
    }));
    this.update((s) => ({
      ...s,
      nodes: s.nodes.some((n) => n.Node === node)
        ? s.nodes
        : [...s.nodes, { ID: `${node}-id`, Node: node, Address: address, Datacenter: this.datacenter, Meta: {}, CreateIndex: idx, ModifyIndex: idx }],
      // Service ids are unique per node (per agent), as in Consul.
      instances: [...s.instances.filter((i) => !(i.ID === id && i.Node === node)), instance],
      checks: [...s.checks.filter((c) => !(c.ServiceID === id && c.Node === node)), ...checks],
    }));
  }

  deregister(serviceId: string): void {
    this.update((s) => ({ ...s, instances: s.instances.filter((i) => i.ID !== serviceId), checks: s.checks.filter((c) => c.ServiceID !== serviceId) }));
  }

  setConfigEntry(body: Record<string, unknown>): void {
    const idx = ++this.index;
    const entry = { ...body, CreateIndex: idx, ModifyIndex: idx } as ConfigEntry;
    this.update((s) => ({ ...s, entries: [...s.entries.filter((e) => !(e.Kind === entry.Kind && e.Name === entry.Name)), entry] }));
  }

  upsertIntention(input: IntentionInput): void {
    const idx = ++this.index;
    const intention: Intention = {
      ID: `${input.SourceName}->${input.DestinationName}`,
      SourceName: input.SourceName,
      SourceNS: input.SourceNS ?? 'default',
      DestinationName: input.DestinationName,
      DestinationNS: input.DestinationNS ?? 'default',
      SourceType: 'consul',
      Action: input.Action,
      Description: input.Description ?? '',
      Meta: {},
      Precedence: intentionPrecedence(input),
      CreateIndex: idx,
      ModifyIndex: idx,
    };
    this.update((s) => ({ ...s, intentions: [...s.intentions.filter((i) => i.ID !== intention.ID), intention] }));
  }

  private select<T>(f: (s: State) => T, eq: (a: T, b: T) => boolean = (a, b) => JSON.stringify(a) === JSON.stringify(b)): Observable<T> {
    return new Observable<T>((sub) => {
      let last: { v: T } | undefined;
      return this.state.pipe(map(f)).subscribe((v) => {
        if (last && eq(last.v, v)) return;
        last = { v };
        sub.next(v);
      });
    });
  }

  watchProxies(): Observable<readonly ServiceInstance[]> {
    return this.select((s) => s.instances.filter((i) => i.Kind !== ''));
  }
  watchService(serviceId: string): Observable<ServiceInstance | undefined> {
    return this.select((s) => s.instances.find((i) => i.ID === serviceId));
  }
  watchConnectHealth(service: string): Observable<readonly CheckServiceNode[]> {
    return this.select((s) =>
      s.instances
        .filter((i) => (i.Kind === 'connect-proxy' && i.Proxy?.DestinationServiceName === service) || (i.Connect?.Native && i.Service === service))
        .map((i) => ({
          Node: s.nodes.find((n) => n.Node === i.Node)!,
          Service: i,
          Checks: s.checks.filter((c) => c.ServiceID === i.ID && c.Node === i.Node),
        })),
    );
  }
  watchIntentions(destination: string): Observable<readonly Intention[]> {
    return this.select((s) =>
      s.intentions.filter((i) => i.DestinationName === destination || i.DestinationName === '*').sort((a, b) => b.Precedence - a.Precedence || a.ID.localeCompare(b.ID)),
    );
  }
  watchDefaultIntentionPolicy(): Observable<'allow' | 'deny'> {
    return this.select((s) => s.defaultPolicy);
  }
  watchConfigEntry(kind: string, name: string): Observable<ConfigEntry | undefined> {
    return this.select((s) => s.entries.find((e) => e.Kind === kind && e.Name === name));
  }
}

/** Replays a scenario's inputs into a catalog and returns it as the proxy layer's CatalogSource. */
export function scenarioCatalog(scenario: Scenario): ScenarioCatalog {
  const catalog = new ScenarioCatalog(scenario.datacenter, scenario.defaultIntentionPolicy);
  for (const node of scenario.nodes) for (const body of node.Services) catalog.register(node.Node, node.Address, body);
  for (const entry of scenario.configEntries) catalog.setConfigEntry(entry);
  for (const intention of scenario.intentions) catalog.upsertIntention(intention);
  return catalog;
}
