// Envoy stats tags that decode Consul-style cluster names
// (`<svc>.<ns>.<dc>.internal.<trust-domain-id>.consul`), the same tag names and regexes Consul's
// bootstrap sets, so dashboards built for Consul read Switchyard's proxies unchanged. Each regex
// has two groups: the first is removed from the stat name, the second is the tag's value.
import type { TagSpecifier } from '../gen/envoy/config/metrics/v3/stats.js';

const CLUSTER_TAGS: readonly [string, string][] = [
  ['consul.destination.custom_hash', '^cluster\\.((?:([^.]+)~)?(?:[^.]+\\.)?[^.]+\\.[^.]+\\.[^.]+\\.[^.]+\\.[^.]+\\.consul\\.)'],
  ['consul.destination.service_subset', '^cluster\\.((?:[^.]+~)?(?:([^.]+)\\.)?[^.]+\\.[^.]+\\.[^.]+\\.[^.]+\\.[^.]+\\.consul\\.)'],
  ['consul.destination.service', '^cluster\\.((?:[^.]+~)?(?:[^.]+\\.)?([^.]+)\\.[^.]+\\.[^.]+\\.[^.]+\\.[^.]+\\.consul\\.)'],
  ['consul.destination.namespace', '^cluster\\.((?:[^.]+~)?(?:[^.]+\\.)?[^.]+\\.([^.]+)\\.[^.]+\\.[^.]+\\.[^.]+\\.consul\\.)'],
  ['consul.destination.datacenter', '^cluster\\.((?:[^.]+~)?(?:[^.]+\\.)?[^.]+\\.[^.]+\\.([^.]+)\\.[^.]+\\.[^.]+\\.consul\\.)'],
  ['consul.destination.routing_type', '^cluster\\.((?:[^.]+~)?(?:[^.]+\\.)?[^.]+\\.[^.]+\\.[^.]+\\.([^.]+)\\.[^.]+\\.consul\\.)'],
  ['consul.destination.trust_domain', '^cluster\\.((?:[^.]+~)?(?:[^.]+\\.)?[^.]+\\.[^.]+\\.[^.]+\\.[^.]+\\.([^.]+)\\.consul\\.)'],
  ['consul.destination.target', '^cluster\\.(((?:[^.]+~)?(?:[^.]+\\.)?[^.]+\\.[^.]+\\.[^.]+)\\.[^.]+\\.[^.]+\\.consul\\.)'],
  ['consul.destination.full_target', '^cluster\\.(((?:[^.]+~)?(?:[^.]+\\.)?[^.]+\\.[^.]+\\.[^.]+\\.[^.]+\\.[^.]+)\\.consul\\.)'],
];

export interface ProxyIdentityTags {
  readonly service: string;
  readonly namespace: string;
  readonly datacenter: string;
}

export function statsTags(source: ProxyIdentityTags): TagSpecifier[] {
  const fixed = (tagName: string, value: string): TagSpecifier => ({ tagName, tagValue: { $case: 'fixedValue', value } });
  return [
    ...CLUSTER_TAGS.map(([tagName, regex]): TagSpecifier => ({ tagName, tagValue: { $case: 'regex', value: regex } })),
    fixed('local_cluster', source.service),
    fixed('consul.source.service', source.service),
    fixed('consul.source.namespace', source.namespace),
    fixed('consul.source.datacenter', source.datacenter),
  ];
}
