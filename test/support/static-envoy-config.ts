// Turns a proxy's generated resources into one static Envoy config that `envoy --mode validate`
// can check without a control plane, changing only how things are delivered, never what:
//   - EDS clusters become STATIC with their ClusterLoadAssignment inlined as load_assignment;
//   - SDS references (`sds_config` + name) lose their config source and so resolve to the
//     static secret of that name;
//   - an HTTP connection manager's `rds` becomes the inline `route_config` it names.
// The proxy's bootstrap is the base, so its node, admin, stats tags and ADS config are checked too.
import type { ResourceSet } from '../../src/core/resources.js';
import { lookupType } from '../../src/core/proto.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/core/type-urls.js';

type Json = Record<string, unknown>;

/** Canonical JSON of every resource of a type, in name order. */
export function resourcesJson(set: ResourceSet, typeUrl: XdsTypeUrl): Json[] {
  const type = lookupType(typeUrl);
  return [...(set.get(typeUrl)?.values() ?? [])]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((r) => type.toJSON(type.decode(r.value)) as Json);
}

function rewrite(node: unknown, routes: ReadonlyMap<string, Json>): unknown {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, routes));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    // An operator's SDS server (a static cluster of the bootstrap) stays; the ADS ones become static secrets.
    if (k === 'sdsConfig' && !(v as Json).apiConfigSource) continue;
    if (k === 'rds') {
      const name = (v as Json).routeConfigName as string;
      const route = routes.get(name);
      if (!route) throw new Error(`rds names route ${name}, which was not generated`);
      out.routeConfig = route;
      continue;
    }
    out[k] = rewrite(v, routes);
  }
  return out;
}

/**
 * `bootstrap` + the resources as static config. `running: true` drops the bootstrap's ADS config,
 * for an Envoy that really runs without a control plane (it would otherwise wait for LDS/CDS).
 */
export function staticEnvoyConfig(bootstrap: Json, set: ResourceSet, opts: { running?: boolean } = {}): Json {
  const assignments = new Map(resourcesJson(set, TypeUrl.Endpoint).map((e) => [e.clusterName as string, e]));
  const routes = new Map(resourcesJson(set, TypeUrl.Route).map((r) => [r.name as string, r]));
  const clusters = resourcesJson(set, TypeUrl.Cluster).map((c) => {
    if (c.type !== 'EDS') return c;
    const { edsClusterConfig: _eds, ...rest } = c;
    const cla = assignments.get(((c.edsClusterConfig as Json | undefined)?.serviceName as string | undefined) || (c.name as string));
    if (!cla) throw new Error(`EDS cluster ${String(c.name)} has no ClusterLoadAssignment`);
    return { ...rest, type: 'STATIC', loadAssignment: { ...cla, clusterName: c.name } };
  });
  const base = (bootstrap.staticResources ?? {}) as Json;
  const { dynamicResources: _ads, ...withoutAds } = bootstrap;
  return {
    ...(opts.running ? withoutAds : bootstrap),
    staticResources: {
      ...base,
      clusters: [...((base.clusters as Json[]) ?? []), ...(rewrite(clusters, routes) as Json[])],
      listeners: rewrite(resourcesJson(set, TypeUrl.Listener), routes),
      secrets: resourcesJson(set, TypeUrl.Secret),
    },
  };
}
