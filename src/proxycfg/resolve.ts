// What every proxy kind's resolution shares: issues collected while reading stored config, the
// config entries that set a protocol, and the watches shared between proxies. The opaque `Config`
// maps are parsed with the schemas registration checks them with (catalog/services/proxy-config.ts),
// so anything stored before that check becomes a named issue instead of a silently ignored setting.
import type { Observable } from 'rxjs';
import type { z } from 'zod';
import { protocolOfEntry } from '../catalog/config/protocol.js';
import type { ConfigEntry, Protocol, ServiceInstance } from '../catalog/types.js';
import { DEFAULT_NAMESPACE } from '../core/names.js';
import type { FieldIssue } from '../core/errors.js';
import { formatPath } from '../core/validate.js';
import type { PortRange } from './exposed-checks.js';
import type { WatchCache } from './shared.js';
import type { CASource, CatalogSource } from './sources.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export const PROXY_DEFAULTS = { kind: 'proxy-defaults', name: 'global' } as const;
export const SERVICE_DEFAULTS = 'service-defaults';

/** What a kind's pipeline watches through. */
export interface ProxyDeps {
  readonly catalog: CatalogSource;
  readonly ca: CASource;
  /** Where combinations of watches common to many proxies are shared (ProxyConfigManager gives one). */
  readonly shared?: WatchCache;
  /** Listener ports for Expose.Checks (the agent's ports.expose_min_port / expose_max_port; 21500-21755 by default). */
  readonly exposeCheckPorts?: PortRange;
}

/** The same observable for every caller of `key` while it has subscribers, when a cache is given. */
export function sharedBy<T>(deps: ProxyDeps, key: string, make: () => Observable<T>): Observable<T> {
  return deps.shared ? deps.shared.get(key, make) : make();
}

/** Collects issues while reading; every read returns a usable value so resolution continues. */
export class Issues {
  readonly list: FieldIssue[] = [];

  parse<T>(schema: z.ZodType<T>, value: unknown, path: readonly PropertyKey[], fallback: T): T {
    const r = schema.safeParse(value ?? {});
    if (r.success) return r.data;
    for (const issue of r.error.issues) this.list.push({ path: formatPath([...path, ...issue.path]), message: issue.message });
    return fallback;
  }

  addAll(issues: readonly FieldIssue[]): void {
    this.list.push(...issues);
  }

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

/**
 * The protocol a proxy-defaults (`Config.protocol`) or service-defaults (`Protocol`) entry sets,
 * if any; a stored value that is not a protocol is an issue naming the entry and field.
 */
export function entryProtocol(issues: Issues, entry: ConfigEntry | undefined): Protocol | undefined {
  if (!entry) return undefined;
  const set = protocolOfEntry(entry);
  if (set === undefined || set.valid) return set?.protocol;
  issues.add(`${entry.Kind}/${entry.Name}.${set.field}`, set.message);
  return undefined;
}

/** Who a gateway is, as its snapshot starts: its registration's ID, service, namespace and datacenter, and the trust domain. */
export function gatewayIdentity(gateway: ServiceInstance, trustDomain: string) {
  return { proxyId: gateway.ID, service: gateway.Service, namespace: gateway.Namespace || DEFAULT_NAMESPACE, datacenter: gateway.Datacenter, trustDomain } as const;
}
