// An upstream's discovery chain, watched: the router, splitter, resolver and service-defaults of
// the destination and of every service they send to (found as the entries arrive: a redirect or
// split to a new service opens that service's watches, and removing it closes them), compiled
// (catalog/config/chain.ts); then the instances of every target of the chain, each subset's
// instances chosen by its resolver's Filter and OnlyPassing.
import { combineLatest, map, of, switchMap, type Observable } from 'rxjs';
import { chainEntries, compileDiscoveryChain, referencedServices, type ChainTarget, type CompileResult, type ResolverEntry, type RouterEntry, type SplitterEntry } from '../catalog/config/chain.js';
import { parseFilter, type Predicate } from '../catalog/config/filter.js';
import { aggregateStatus, type CheckServiceNode, type ConfigEntry, type Protocol } from '../catalog/types.js';
import { PROXY_DEFAULTS, SERVICE_DEFAULTS, sharedBy, type ProxyDeps } from './resolve.js';

/** The chain entries of one service. */
interface ServiceChainEntries {
  readonly service: string;
  readonly router?: RouterEntry;
  readonly splitter?: SplitterEntry;
  readonly resolver?: ResolverEntry;
  readonly serviceDefaults?: ConfigEntry;
}

function serviceChainEntries(deps: ProxyDeps, service: string): Observable<ServiceChainEntries> {
  const { catalog } = deps;
  return sharedBy(deps, `chain-entries/${service}`, () =>
    combineLatest([
      catalog.watchConfigEntry('service-router', service),
      catalog.watchConfigEntry('service-splitter', service),
      catalog.watchConfigEntry('service-resolver', service),
      catalog.watchConfigEntry(SERVICE_DEFAULTS, service),
    ]).pipe(
      map(([router, splitter, resolver, serviceDefaults]) => ({
        service,
        ...(router ? { router } : {}),
        ...(splitter ? { splitter } : {}),
        ...(resolver ? { resolver } : {}),
        ...(serviceDefaults ? { serviceDefaults } : {}),
      })),
    ),
  );
}

/** The entries of `services` and, transitively, of every service they send to. */
function entriesClosure(deps: ProxyDeps, services: readonly string[]): Observable<ReadonlyMap<string, ServiceChainEntries>> {
  return combineLatest(services.map((s) => serviceChainEntries(deps, s))).pipe(
    switchMap((list) => {
      const known = new Set(services);
      const more = [...new Set(list.flatMap(referencedServices))].filter((s) => !known.has(s)).sort();
      if (more.length === 0) return of(new Map(list.map((e) => [e.service, e])));
      return entriesClosure(deps, [...services, ...more]);
    }),
  );
}

/** The compiled chain of `service` as seen from `datacenter`, recompiled on every entry change. */
/**
 * A compiled chain is never changed after compiling, and one is shared by every proxy upstream of
 * the destination: frozen, the generators' cache keys name it by identity (resource-table.ts)
 * instead of serialising it for every upstream of every proxy.
 */
function frozenChain(result: CompileResult): CompileResult {
  return result.ok ? Object.freeze({ ok: true, chain: Object.freeze(result.chain) }) : result;
}

export function watchChain(deps: ProxyDeps, service: string, datacenter: string, overrideProtocol?: Protocol): Observable<CompileResult> {
  return sharedBy(deps, `chain/${datacenter}/${service}${overrideProtocol ? `?protocol=${overrideProtocol}` : ''}`, () =>
    combineLatest([entriesClosure(deps, [service]), deps.catalog.watchConfigEntry(PROXY_DEFAULTS.kind, PROXY_DEFAULTS.name)]).pipe(
      map(([entries, proxyDefaults]) =>
        frozenChain(
          compileDiscoveryChain(
            chainEntries((kind, name) => {
              if (kind === PROXY_DEFAULTS.kind) return proxyDefaults;
              const e = entries.get(name);
              return kind === 'service-router' ? e?.router : kind === 'service-splitter' ? e?.splitter : kind === 'service-resolver' ? e?.resolver : e?.serviceDefaults;
            }),
            service,
            datacenter,
            overrideProtocol,
          ),
        ),
      ),
    ),
  );
}

const predicates = new Map<string, Predicate>();

function predicateOf(filter: string): Predicate {
  let p = predicates.get(filter);
  if (!p) {
    // Validated at write; a filter stored before that check selects nothing rather than everything.
    try {
      p = parseFilter(filter);
    } catch {
      p = () => false;
    }
    predicates.set(filter, p);
  }
  return p;
}

const subsetsByResult = new WeakMap<readonly CheckServiceNode[], Map<string, readonly CheckServiceNode[]>>();

/**
 * The instances of a subset: those its filter selects (over the instance's ID, service name, tags
 * and meta, which a sidecar inherits from its service, and its node), without warning ones when
 * OnlyPassing. One frozen array per (health result, subset), so endpoints built from it are shared.
 */
export function subsetNodes(nodes: readonly CheckServiceNode[], target: Pick<ChainTarget, 'filter' | 'onlyPassing'>): readonly CheckServiceNode[] {
  if (!target.filter && !target.onlyPassing) return nodes;
  let byKey = subsetsByResult.get(nodes);
  if (!byKey) subsetsByResult.set(nodes, (byKey = new Map()));
  const key = `${target.onlyPassing ? 'passing' : 'any'}\u0000${target.filter}`;
  let chosen = byKey.get(key);
  if (!chosen) {
    const p = target.filter ? predicateOf(target.filter) : () => true;
    chosen = Object.freeze(
      nodes.filter(
        (n) =>
          (!target.onlyPassing || aggregateStatus(n.Checks) === 'passing') &&
          p({ serviceId: n.Service.ID, service: n.Service.Service, tags: n.Service.Tags, meta: n.Service.Meta, node: n.Node.Node, nodeMeta: n.Node.Meta ?? {} }),
      ),
    );
    byKey.set(key, chosen);
  }
  return chosen;
}
