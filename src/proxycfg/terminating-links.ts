// Which terminating gateways stand in for a service, for every proxy that sends to it: a service
// a `terminating-gateway` entry links (by name, or by `*`: every service with instances of its
// own that is not in the mesh)
// is reached through that gateway's instances, as Consul's connect health answers a linked
// service with its gateways. The gateway presents the service's own certificate, so the
// caller's cluster (named by the service's SNI, checking its SPIFFE ID) is unchanged: only its
// endpoints are the gateways'.
import { combineLatest, map, of, switchMap, type Observable } from 'rxjs';
import type { CheckServiceNode, ConfigEntryOf } from '../catalog/types.js';
import { sharedBy, type ProxyDeps } from './resolve.js';

export const WILDCARD_SERVICE = '*';

/** A service's gateways: those that name it, and those that link it only through `*`. */
export interface GatewayLinks {
  readonly explicit: readonly CheckServiceNode[];
  readonly wildcard: readonly CheckServiceNode[];
}

const NO_LINKS: GatewayLinks = Object.freeze({ explicit: Object.freeze([]), wildcard: Object.freeze([]) });

/** How an entry links `service`: by name, by `*`, or not at all. */
export function linkOf(entry: ConfigEntryOf<'terminating-gateway'> | undefined, service: string): 'explicit' | 'wildcard' | undefined {
  const names = (entry?.Services ?? []).map((s) => s.Name);
  if (names.includes(service)) return 'explicit';
  return names.includes(WILDCARD_SERVICE) ? 'wildcard' : undefined;
}

/** The terminating gateways linking `service`, shared by every proxy upstream of it. */
export function gatewayLinks(deps: ProxyDeps, service: string): Observable<GatewayLinks> {
  const { catalog } = deps;
  return sharedBy(deps, `gateway-links/${service}`, () =>
    catalog.watchTerminatingGateways().pipe(
      switchMap((gateways) => {
        const names = [...new Set(gateways.map((g) => g.Service.Service))].sort();
        if (names.length === 0) return of(NO_LINKS);
        return combineLatest([combineLatest(names.map((n) => catalog.watchConfigEntry('terminating-gateway', n))), catalog.watchServiceNames()]).pipe(
          map(([entries, typical]) => {
            const how = new Map(names.map((n, i) => [n, linkOf(entries[i], service)]));
            const explicit = gateways.filter((g) => how.get(g.Service.Service) === 'explicit');
            // `*` reaches only a service that has instances of its own (Consul links it when one registers).
            const wildcard = typical.includes(service) ? gateways.filter((g) => how.get(g.Service.Service) === 'wildcard') : [];
            return explicit.length === 0 && wildcard.length === 0 ? NO_LINKS : { explicit, wildcard };
          }),
        );
      }),
    ),
  );
}

/**
 * What a local target is reached through: its sidecars (the subset's, already chosen), then the
 * gateways that link the service by name, and those linking it by `*` only while it has no sidecar
 * of its own (a mesh service is not linked by the wildcard, as in Consul). A subset is not chosen
 * among gateways: the gateway applies it itself, by the SNI the caller sends.
 */
export function withGateways(sidecars: readonly CheckServiceNode[], anySidecar: boolean, links: GatewayLinks): readonly CheckServiceNode[] {
  const gateways = anySidecar ? links.explicit : [...links.explicit, ...links.wildcard];
  return gateways.length === 0 ? sidecars : Object.freeze([...sidecars, ...gateways]);
}
