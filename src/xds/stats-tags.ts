// Envoy stats tags that decode Consul-style names, the same tag names and regexes Consul's
// bootstrap sets (command/connect/envoy/bootstrap_config.go), so dashboards built for Consul read
// Switchyard's proxies unchanged:
//   - cluster stats, `cluster.[<hash>~][<subset>.]<svc>.<ns>.[<partition>.]<dc>.<internal|external>.<td-id>.consul.<stat>`
//     (`consul.destination.*`, and the older `consul.*` names Consul still emits beside them);
//   - upstream listener stats, `<tcp|http>.upstream.<svc>.<ns>.<partition>.<dc>.<stat>`
//     (`consul.upstream.*`), from the listeners' stat prefixes (names.ts upstreamStatPrefix).
// Each regex has two groups: the first is removed from the stat name, the second is the tag's
// value. Names and regexes are data Envoy matches, so they are Consul's exactly.
import { DEFAULT_PARTITION } from '../core/names.js';
import type { TagSpecifier } from '../gen/envoy/config/metrics/v3/stats.js';

/** One dot-free segment of a stat name. */
const S = '[^.]+';

/**
 * The parts of a cluster name as regex fragments, each either plain or capturing: the value
 * group goes around exactly one of them.
 */
interface ClusterParts {
  readonly hash: string;
  readonly subset: string;
  readonly service: string;
  readonly namespace: string;
  readonly partition: string;
  readonly datacenter: string;
  readonly routing: string;
  readonly trustDomain: string;
}

const PLAIN: ClusterParts = {
  hash: `(?:${S}~)?`,
  subset: `(?:${S}\\.)?`,
  service: S,
  namespace: S,
  partition: `(?:${S}\\.)?`,
  datacenter: S,
  routing: S,
  trustDomain: S,
};

/** `^cluster\.[passthrough~](<name>\.consul\.)` with the given parts. */
function clusterRegex(p: ClusterParts, passthrough: boolean): string {
  const name = `${p.hash}${p.subset}${p.service}\\.${p.namespace}\\.${p.partition}${p.datacenter}\\.${p.routing}\\.${p.trustDomain}`;
  return `^cluster\\.${passthrough ? '(?:passthrough~)?' : ''}(${name}\\.consul\\.)`;
}

/** The target (`[<hash>~][<subset>.]<svc>.<ns>.[<partition>.]<dc>`) and the full target (with routing type and trust domain) as one value. */
function targetRegex(full: boolean, passthrough: boolean): string {
  const target = `${PLAIN.hash}${PLAIN.subset}${S}\\.${S}\\.${PLAIN.partition}${S}`;
  const value = full ? `(${target}\\.${S}\\.${S})` : `(${target})`;
  const rest = full ? '' : `\\.${S}\\.${S}`;
  return `^cluster\\.${passthrough ? '(?:passthrough~)?' : ''}(${value}${rest}\\.consul\\.)`;
}

/** The cluster tags under one name prefix (`consul.destination.` or the older `consul.`). */
function clusterTags(prefix: string, passthrough: boolean): [string, string][] {
  const internal = `internal[^.]*`;
  return [
    [`${prefix}custom_hash`, clusterRegex({ ...PLAIN, hash: `(?:(${S})~)?` }, passthrough)],
    [`${prefix}service_subset`, clusterRegex({ ...PLAIN, subset: `(?:(${S})\\.)?` }, passthrough)],
    [`${prefix}service`, clusterRegex({ ...PLAIN, service: `(${S})` }, passthrough)],
    [`${prefix}namespace`, clusterRegex({ ...PLAIN, namespace: `(${S})` }, passthrough)],
    ...(passthrough ? ([[`${prefix}partition`, clusterRegex({ ...PLAIN, partition: `(?:(${S})\\.)?`, routing: internal }, passthrough)]] as [string, string][]) : []),
    [`${prefix}datacenter`, clusterRegex({ ...PLAIN, datacenter: `(${S})`, routing: internal }, passthrough)],
    ...(passthrough ? ([[`${prefix}peer`, `^cluster\\.(${S}\\.(?:${S}\\.)?(${S})\\.external\\.${S}\\.consul\\.)`]] as [string, string][]) : []),
    [`${prefix}routing_type`, clusterRegex({ ...PLAIN, routing: `(${S})` }, passthrough)],
    [`${prefix}trust_domain`, clusterRegex({ ...PLAIN, trustDomain: `(${S})` }, passthrough)],
    [`${prefix}target`, targetRegex(false, passthrough)],
    [`${prefix}full_target`, targetRegex(true, passthrough)],
  ];
}

/** Upstream listener stats: `<tcp|http>.upstream[_peered].<svc>[.<ns>][.<partition>].<dc or peer>.`. */
const UPSTREAM_TAGS: readonly [string, string][] = [
  ['consul.upstream.service', `^(?:tcp|http)\\.upstream(?:_peered)?\\.((${S})(?:\\.${S})?(?:\\.${S})?\\.${S}\\.)`],
  ['consul.upstream.datacenter', `^(?:tcp|http)\\.upstream\\.(${S}(?:\\.${S})?(?:\\.${S})?\\.(${S})\\.)`],
  ['consul.upstream.peer', `^(?:tcp|http)\\.upstream_peered\\.(${S}(?:\\.${S})?\\.(${S})\\.)`],
  ['consul.upstream.namespace', `^(?:tcp|http)\\.upstream(?:_peered)?\\.(${S}(?:\\.(${S}))?(?:\\.${S})?\\.${S}\\.)`],
  ['consul.upstream.partition', `^(?:tcp|http)\\.upstream\\.(${S}(?:\\.${S})?(?:\\.(${S}))?\\.${S}\\.)`],
];

/** Every regex tag, in Consul's order. */
export const REGEX_TAGS: readonly [string, string][] = [...clusterTags('consul.destination.', true), ...UPSTREAM_TAGS, ...clusterTags('consul.', false)];

export interface ProxyIdentityTags {
  readonly service: string;
  readonly namespace: string;
  readonly datacenter: string;
}

export function statsTags(source: ProxyIdentityTags): TagSpecifier[] {
  const fixed = (tagName: string, value: string): TagSpecifier => ({ tagName, tagValue: { $case: 'fixedValue', value } });
  return [
    ...REGEX_TAGS.map(([tagName, regex]): TagSpecifier => ({ tagName, tagValue: { $case: 'regex', value: regex } })),
    fixed('local_cluster', source.service),
    fixed('consul.source.service', source.service),
    fixed('consul.source.namespace', source.namespace),
    fixed('consul.source.partition', DEFAULT_PARTITION),
    fixed('consul.source.datacenter', source.datacenter),
  ];
}
