// Rules across entries that Consul checks when one is written: routing and splitting need an
// HTTP-based protocol, so a service-router or service-splitter is refused for a service whose
// protocol (service-defaults, else proxy-defaults Config.protocol, else tcp) is tcp, and a
// protocol change that would leave a router or splitter on a tcp service is refused too.
import { ValidationError } from '../../core/errors.js';
import type { ReadTx } from '../../store/types.js';
import type { ConfigEntry } from '../types.js';
import { resolveProtocol } from './protocol.js';

const L7 = new Set(['http', 'http2', 'grpc']);
const ROUTING_KINDS = ['service-router', 'service-splitter'] as const;

function lookup(tx: ReadTx, kind: string, name: string): ConfigEntry | undefined {
  return tx.get<ConfigEntry>('config_entries', `${kind}/${name}`)?.value;
}

/**
 * Checks the graph after the write or delete of `kind/name` has been staged in `tx` (throwing
 * discards the whole transaction).
 */
export function checkEntryGraph(tx: ReadTx, kind: string, name: string): void {
  const affected: string[] = [];
  if ((ROUTING_KINDS as readonly string[]).includes(kind) || kind === 'service-defaults') affected.push(name);
  if (kind === 'proxy-defaults') {
    for (const kind of ROUTING_KINDS) affected.push(...tx.list<ConfigEntry>('config_entries', `${kind}/`).map((r) => r.value.Name));
  }
  for (const service of new Set(affected)) {
    const routed = ROUTING_KINDS.filter((k) => lookup(tx, k, service));
    if (routed.length === 0) continue;
    const protocol = resolveProtocol(lookup(tx, 'service-defaults', service), lookup(tx, 'proxy-defaults', 'global'));
    if (!L7.has(protocol)) {
      const field = kind === 'service-defaults' ? 'Protocol' : kind === 'proxy-defaults' ? 'Config.protocol' : 'Name';
      throw ValidationError.of(
        field,
        `service "${service}" would use protocol "${protocol}", which does not permit advanced routing or splitting (${routed.join(', ')}); set Protocol to http, http2 or grpc in its service-defaults`,
      );
    }
  }
}
