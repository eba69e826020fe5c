// The discovery chain (Consul's agent/consul/discoverychain): what a service's service-defaults
// (protocol), service-router, service-splitter and service-resolver entries make of a call to
// it, compiled into typed data: a start node, router / splitter / resolver nodes, and the
// targets (service, subset, datacenter) traffic finally reaches. Pure: the entries come from a
// lookup, so the same compile checks a write inside its transaction (graph.ts) and builds a
// proxy's snapshot (proxycfg). Names are Consul's: targets `<subset>.<svc>.<ns>.<partition>.<dc>`,
// nodes `router:<svc>.<ns>.<partition>`, `splitter:...`, `resolver:<target id>`.
import { parseDuration } from '../../core/duration.js';
import { formatPath } from '../../core/validate.js';
import type { Protocol } from '../types.js';
import { filterProblem } from './filter.js';
import type { EntryOf } from './kinds.js';
import { resolveProtocol } from './protocol.js';

export type RouterEntry = EntryOf<'service-router'>;
export type SplitterEntry = EntryOf<'service-splitter'>;
export type ResolverEntry = EntryOf<'service-resolver'>;
export type RouteDefinition = NonNullable<RouterEntry['Routes']>[number];
export type HttpRouteMatch = NonNullable<NonNullable<RouteDefinition['Match']>['HTTP']>;
export type RouteDestination = NonNullable<RouteDefinition['Destination']>;
export type HeaderModifiers = NonNullable<RouteDestination['RequestHeaders']>;
export type LoadBalancer = NonNullable<ResolverEntry['LoadBalancer']>;

const NAMESPACE = 'default';
const PARTITION = 'default';

/** The entries a chain is compiled from (whatever store or snapshot holds them). */
export interface ChainEntries {
  router(service: string): RouterEntry | undefined;
  splitter(service: string): SplitterEntry | undefined;
  resolver(service: string): ResolverEntry | undefined;
  /** The service's protocol (service-defaults, else proxy-defaults, else tcp). */
  protocol(service: string): Protocol;
}

/** A place traffic ends: one cluster and one set of endpoints. */
export interface ChainTarget {
  /** `<subset>.<svc>.<ns>.<partition>.<dc>`, no subset part when there is none. */
  readonly id: string;
  readonly service: string;
  readonly subset: string;
  readonly namespace: string;
  readonly datacenter: string;
  /** The subset's filter over the instances of `service` (empty: every instance). */
  readonly filter: string;
  /** The subset's OnlyPassing: warning instances take no traffic either. */
  readonly onlyPassing: boolean;
  /** The resolver's ConnectTimeout; unset: the upstream's own (connect_timeout_ms, else 5s). */
  readonly connectTimeoutMs?: number;
  /** From the resolver of `service`, when it sets one. */
  readonly loadBalancer?: LoadBalancer;
}

export interface ChainRoute {
  /** Undefined for the catch-all route the compiler appends. */
  readonly match?: HttpRouteMatch;
  readonly destination?: RouteDestination;
  readonly nextNode: string;
}

export interface ChainSplit {
  readonly weight: number;
  readonly nextNode: string;
  readonly requestHeaders?: HeaderModifiers;
  readonly responseHeaders?: HeaderModifiers;
}

export type ChainNode =
  | { readonly type: 'router'; readonly name: string; readonly routes: readonly ChainRoute[] }
  | { readonly type: 'splitter'; readonly name: string; readonly splits: readonly ChainSplit[] }
  | {
      readonly type: 'resolver';
      readonly name: string;
      readonly target: string;
      /** Failover targets in order (empty: none). */
      readonly failover: readonly string[];
      readonly requestTimeoutMs?: number;
      readonly loadBalancer?: LoadBalancer;
    };

export interface CompiledDiscoveryChain {
  readonly serviceName: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly protocol: Protocol;
  readonly startNode: string;
  /** By name. */
  readonly nodes: Readonly<Record<string, ChainNode>>;
  /** By id. */
  readonly targets: Readonly<Record<string, ChainTarget>>;
}

/** A problem found while compiling: the entry and field at fault, and why. */
export interface ChainProblem {
  /** `<kind>/<name>` */
  readonly entry: string;
  readonly path: string;
  readonly message: string;
}

export type CompileResult = { readonly ok: true; readonly chain: CompiledDiscoveryChain } | { readonly ok: false; readonly problems: readonly ChainProblem[] };

export function targetId(service: string, subset: string, datacenter: string, namespace = NAMESPACE, partition = PARTITION): string {
  return `${subset ? `${subset}.` : ''}${service}.${namespace}.${partition}.${datacenter}`;
}

/** A target's SNI and cluster name: `<subset>.<svc>.<ns>.<dc>.internal.<trust domain>`. */
export function targetSni(t: Pick<ChainTarget, 'service' | 'subset' | 'namespace' | 'datacenter'>, trustDomain: string): string {
  return `${t.subset ? `${t.subset}.` : ''}${t.service}.${t.namespace}.${t.datacenter}.internal.${trustDomain}`;
}

const L7: ReadonlySet<Protocol> = new Set(['http', 'http2', 'grpc']);

class Compiler {
  readonly problems: ChainProblem[] = [];
  readonly nodes: Record<string, ChainNode> = {};
  readonly targets: Record<string, ChainTarget> = {};
  private readonly splitterStack: string[] = [];

  constructor(
    private readonly entries: ChainEntries,
    private readonly service: string,
    private readonly datacenter: string,
    readonly protocol: Protocol,
  ) {}

  problem(entry: string, path: readonly PropertyKey[], message: string): void {
    this.problems.push({ entry, path: formatPath(path), message });
  }

  start(): string {
    if (L7.has(this.protocol)) {
      const router = this.entries.router(this.service);
      if (router) return this.router(router);
    }
    return this.splitterOrResolver(this.service, '', this.datacenter, `the chain of "${this.service}"`);
  }

  private router(entry: RouterEntry): string {
    const name = `router:${this.service}.${NAMESPACE}.${PARTITION}`;
    const routes: ChainRoute[] = [];
    (entry.Routes ?? []).forEach((r, i) => {
      const d = r.Destination;
      const service = d?.Service || this.service;
      const where = `service-router "${entry.Name}" Routes[${i}]`;
      const next = d?.ServiceSubset ? this.resolver(service, d.ServiceSubset, this.datacenter, where, `service-router/${entry.Name}`, ['Routes', i, 'Destination', 'ServiceSubset']) : this.splitterOrResolver(service, '', this.datacenter, where);
      routes.push({ ...(r.Match?.HTTP ? { match: r.Match.HTTP } : {}), ...(d ? { destination: d } : {}), nextNode: next });
    });
    routes.push({ nextNode: this.splitterOrResolver(this.service, '', this.datacenter, `service-router "${entry.Name}" (the catch-all route)`) });
    this.nodes[name] = { type: 'router', name, routes };
    return name;
  }

  private splitterOrResolver(service: string, subset: string, datacenter: string, from: string): string {
    if (L7.has(this.protocol) && !subset) {
      const splitter = this.entries.splitter(service);
      if (splitter) return this.splitter(splitter);
    }
    return this.resolver(service, subset, datacenter, from);
  }

  private splitter(entry: SplitterEntry): string {
    const name = `splitter:${entry.Name}.${NAMESPACE}.${PARTITION}`;
    if (this.splitterStack.includes(entry.Name)) {
      const cycle = [...this.splitterStack.slice(this.splitterStack.indexOf(entry.Name)), entry.Name].map((s) => `service-splitter "${s}"`).join(' -> ');
      this.problem(`service-splitter/${entry.Name}`, ['Splits'], `splits in a cycle: ${cycle}`);
      return name;
    }
    if (this.nodes[name]) return name;
    this.splitterStack.push(entry.Name);
    const splits = entry.Splits.filter((s) => s.Weight > 0).map((s): ChainSplit => {
      const i = entry.Splits.indexOf(s);
      const service = s.Service || entry.Name;
      const where = `service-splitter "${entry.Name}" Splits[${i}]`;
      // A split to the splitter's own service goes to its resolver; to another, through that service's own splitter.
      const next =
        s.ServiceSubset || service === entry.Name
          ? this.resolver(service, s.ServiceSubset ?? '', this.datacenter, where, `service-splitter/${entry.Name}`, ['Splits', i, 'ServiceSubset'])
          : this.splitterOrResolver(service, '', this.datacenter, where);
      return { weight: s.Weight, nextNode: next, ...(s.RequestHeaders ? { requestHeaders: s.RequestHeaders } : {}), ...(s.ResponseHeaders ? { responseHeaders: s.ResponseHeaders } : {}) };
    });
    this.splitterStack.pop();
    this.nodes[name] = { type: 'splitter', name, splits };
    return name;
  }

  /**
   * The resolver node of (service, subset, datacenter), following redirects. `referrer` and
   * `path` name the field that asked for `subset` when it is not the default.
   */
  resolver(service: string, subset: string, datacenter: string, from: string, referrer?: string, path?: readonly PropertyKey[], seen: readonly string[] = []): string {
    const entry = this.entries.resolver(service);
    const visit = targetId(service, subset, datacenter);
    if (seen.includes(visit)) {
      this.problem(`service-resolver/${service}`, ['Redirect'], `redirects in a cycle: ${[...seen, visit].join(' -> ')}`);
      return `resolver:${visit}`;
    }
    if (entry?.Redirect) {
      const r = entry.Redirect;
      const next = r.Service || service;
      return this.resolver(next, r.ServiceSubset ?? (next === service ? subset : ''), r.Datacenter || datacenter, from, `service-resolver/${service}`, ['Redirect', 'ServiceSubset'], [...seen, visit]);
    }
    this.checkProtocol(service, from);
    const target = this.target(service, subset, datacenter, referrer, path);
    const name = `resolver:${target.id}`;
    if (this.nodes[name]) return name;
    const failover = this.failover(entry, target);
    const requestTimeoutMs = entry?.RequestTimeout ? parseDuration('RequestTimeout', entry.RequestTimeout) : undefined;
    this.nodes[name] = {
      type: 'resolver',
      name,
      target: target.id,
      failover,
      ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
      ...(entry?.LoadBalancer ? { loadBalancer: entry.LoadBalancer } : {}),
    };
    return name;
  }

  private checkProtocol(service: string, from: string): void {
    const protocol = this.entries.protocol(service);
    if (service !== this.service && protocol !== this.protocol && protocol !== this.entries.protocol(this.service)) {
      this.problem(`service-defaults/${service}`, ['Protocol'], `${from} reaches "${service}", whose protocol "${protocol}" differs from "${this.service}"'s "${this.protocol}" (a chain uses one protocol)`);
    }
  }

  /** The target of (service, subset, dc), the resolver's DefaultSubset applied when subset is empty. */
  target(service: string, subset: string, datacenter: string, referrer?: string, path?: readonly PropertyKey[]): ChainTarget {
    const entry = this.entries.resolver(service);
    const effective = subset || entry?.DefaultSubset || '';
    const def = effective ? entry?.Subsets?.[effective] : undefined;
    if (effective && !def) {
      const owner = entry ? `service-resolver "${service}" does not define it` : `"${service}" has no service-resolver defining subsets`;
      this.problem(referrer ?? `service-resolver/${service}`, path ?? ['DefaultSubset'], `subset "${effective}" of service "${service}" does not exist: ${owner}`);
    }
    const id = targetId(service, effective, datacenter);
    const existing = this.targets[id];
    if (existing) return existing;
    const t: ChainTarget = {
      id,
      service,
      subset: effective,
      namespace: NAMESPACE,
      datacenter,
      filter: def?.Filter ?? '',
      onlyPassing: def?.OnlyPassing ?? false,
      ...(entry?.ConnectTimeout ? { connectTimeoutMs: parseDuration('ConnectTimeout', entry.ConnectTimeout) } : {}),
      ...(entry?.LoadBalancer ? { loadBalancer: entry.LoadBalancer } : {}),
    };
    if (def?.Filter) {
      const problem = filterProblem(def.Filter);
      if (problem) this.problem(`service-resolver/${service}`, ['Subsets', effective, 'Filter'], problem);
    }
    this.targets[id] = t;
    return t;
  }

  private failover(entry: ResolverEntry | undefined, primary: ChainTarget): string[] {
    const key = entry?.Failover?.[primary.subset] ? primary.subset : '*';
    const f = entry?.Failover?.[key];
    if (!entry || !f) return [];
    const at = (...p: PropertyKey[]) => ['Failover', key, ...p];
    const owner = `service-resolver/${entry.Name}`;
    const ids: string[] = [];
    const add = (service: string, subset: string, datacenter: string, path: readonly PropertyKey[]) => {
      if (service !== primary.service) this.checkProtocol(service, `service-resolver "${entry.Name}" Failover`);
      const t = this.target(service, subset, datacenter, owner, path);
      if (t.id !== primary.id && !ids.includes(t.id)) ids.push(t.id);
    };
    if (f.Targets?.length) {
      f.Targets.forEach((t, i) => {
        const service = t.Service || primary.service;
        add(service, t.ServiceSubset ?? (service === primary.service ? primary.subset : ''), t.Datacenter || primary.datacenter, at('Targets', i, 'ServiceSubset'));
      });
    } else {
      const service = f.Service || primary.service;
      const subset = f.ServiceSubset ?? (f.Service ? '' : primary.subset);
      const dcs = f.Datacenters?.length ? f.Datacenters : [primary.datacenter];
      for (const dc of dcs) add(service, subset, dc, at('ServiceSubset'));
    }
    return ids;
  }
}

/**
 * Compiles the chain of `service` as seen from `datacenter`. `overrideProtocol` is an upstream's
 * own `Config.protocol` (Consul's OverrideProtocol): tcp there compiles the chain without its
 * routers and splitters.
 */
export function compileDiscoveryChain(entries: ChainEntries, service: string, datacenter: string, overrideProtocol?: Protocol): CompileResult {
  const protocol = overrideProtocol ?? entries.protocol(service);
  const c = new Compiler(entries, service, datacenter, protocol);
  const startNode = c.start();
  if (c.problems.length > 0) return { ok: false, problems: c.problems };
  return { ok: true, chain: { serviceName: service, namespace: NAMESPACE, datacenter, protocol, startNode, nodes: c.nodes, targets: c.targets } };
}

/** The entries a lookup of stored config entries gives (the protocol resolved as everywhere else). */
export function chainEntries(lookup: (kind: string, name: string) => unknown): ChainEntries {
  const proxyDefaults = lookup('proxy-defaults', 'global');
  return {
    router: (s) => lookup('service-router', s) as RouterEntry | undefined,
    splitter: (s) => lookup('service-splitter', s) as SplitterEntry | undefined,
    resolver: (s) => lookup('service-resolver', s) as ResolverEntry | undefined,
    protocol: (s) => resolveProtocol(lookup('service-defaults', s) as Parameters<typeof resolveProtocol>[0], proxyDefaults as Parameters<typeof resolveProtocol>[0]),
  };
}

/** Every target a resolver node sends to, the primary first. */
export function resolverTargets(chain: CompiledDiscoveryChain, nodeName: string): readonly ChainTarget[] {
  const node = chain.nodes[nodeName];
  if (node?.type !== 'resolver') return [];
  return [node.target, ...node.failover].map((id) => chain.targets[id]).filter((t): t is ChainTarget => t !== undefined);
}

/** The services a set of entries sends traffic to besides their own (the next ones to look up). */
export function referencedServices(entries: { readonly router?: RouterEntry; readonly splitter?: SplitterEntry; readonly resolver?: ResolverEntry }): string[] {
  const out: string[] = [];
  for (const r of entries.router?.Routes ?? []) if (r.Destination?.Service) out.push(r.Destination.Service);
  for (const s of entries.splitter?.Splits ?? []) if (s.Service) out.push(s.Service);
  const resolver = entries.resolver;
  if (resolver?.Redirect?.Service) out.push(resolver.Redirect.Service);
  for (const f of Object.values(resolver?.Failover ?? {})) {
    if (f.Service) out.push(f.Service);
    for (const t of f.Targets ?? []) if (t.Service) out.push(t.Service);
  }
  return out;
}

/** No entries at all: the default chain (one resolver, one target), with this protocol. */
export function defaultChainEntries(protocol: Protocol): ChainEntries {
  return { router: () => undefined, splitter: () => undefined, resolver: () => undefined, protocol: () => protocol };
}

/** The chain of a service no entry touches: one resolver, one target. */
export function defaultChain(service: string, datacenter: string, protocol: Protocol): CompiledDiscoveryChain {
  const r = compileDiscoveryChain(defaultChainEntries(protocol), service, datacenter);
  if (!r.ok) throw new Error('the default chain always compiles');
  return r.chain;
}
