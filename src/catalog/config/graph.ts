// Rules across entries that Consul checks when one is written: routing and splitting need an
// HTTP-based protocol, so a service-router or service-splitter is refused for a service whose
// protocol (service-defaults, else proxy-defaults Config.protocol, else tcp) is tcp, and a
// protocol change that would leave a router or splitter on a tcp service is refused too. Then
// every discovery chain the write can change is compiled (chain.ts): a split or route to a
// subset no resolver defines, a redirect or split cycle, a filter that does not parse, or a
// chain mixing protocols is refused with the entry and field at fault.
import { ValidationError } from '../../core/errors.js';
import type { ReadTx } from '../../store/types.js';
import type { ConfigEntry } from '../types.js';
import { resolveProtocol } from './protocol.js';
import { chainEntries, compileDiscoveryChain } from './chain.js';

const L7 = new Set(['http', 'http2', 'grpc']);
const ROUTING_KINDS = ['service-router', 'service-splitter'] as const;
const CHAIN_KINDS = ['service-router', 'service-splitter', 'service-resolver'] as const;
const CHAIN_INPUTS: ReadonlySet<string> = new Set([...CHAIN_KINDS, 'service-defaults', 'proxy-defaults']);

function lookup(tx: ReadTx, kind: string, name: string): ConfigEntry | undefined {
  return tx.get<ConfigEntry>('config_entries', `${kind}/${name}`)?.value;
}

/**
 * Checks the graph after the write or delete of `kind/name` has been staged in `tx` (throwing
 * discards the whole transaction).
 */
export function checkEntryGraph(tx: ReadTx, kind: string, name: string, datacenter = 'dc1'): void {
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
  if (kind === 'service-intentions' || kind === 'service-defaults' || kind === 'proxy-defaults') checkL7Intentions(tx, kind, kind === 'proxy-defaults' ? undefined : name);
  if (CHAIN_INPUTS.has(kind)) checkChains(tx, kind, name, datacenter);
}

interface IntentionsEntry {
  readonly Name: string;
  readonly Sources?: readonly { readonly Permissions?: readonly unknown[] }[];
}

/**
 * L7 intentions (Sources[].Permissions) are decided per HTTP request, so their destination must
 * speak an HTTP-based protocol, as Consul checks: refused when written towards a tcp service, and
 * a protocol change that would leave them on a tcp service is refused too. (A `*` destination is
 * not checked: it applies, per request, only to the HTTP services it reaches.)
 */
function checkL7Intentions(tx: ReadTx, kind: string, service: string | undefined): void {
  const entries = service === undefined ? tx.list<IntentionsEntry>('config_entries', 'service-intentions/').map((r) => r.value) : [lookup(tx, 'service-intentions', service) as IntentionsEntry | undefined];
  for (const entry of entries) {
    if (!entry || entry.Name === '*') continue;
    const index = (entry.Sources ?? []).findIndex((s) => (s.Permissions?.length ?? 0) > 0);
    if (index < 0) continue;
    const protocol = resolveProtocol(lookup(tx, 'service-defaults', entry.Name), lookup(tx, 'proxy-defaults', 'global'));
    if (L7.has(protocol)) continue;
    const field = kind === 'service-intentions' ? `Sources[${index}].Permissions` : kind === 'service-defaults' ? 'Protocol' : 'Config.protocol';
    throw ValidationError.of(
      field,
      `service "${entry.Name}" has protocol "${protocol}", which is incompatible with L7 intentions permissions; set Protocol to http, http2 or grpc in its service-defaults`,
    );
  }
}

/**
 * Compiles the chain of every service with a router, splitter or resolver (any of them may reach
 * the written entry's service), and of the written service itself.
 */
function checkChains(tx: ReadTx, kind: string, name: string, datacenter: string): void {
  const services = new Set<string>(kind === 'proxy-defaults' ? [] : [name]);
  for (const k of CHAIN_KINDS) for (const r of tx.list<ConfigEntry>('config_entries', `${k}/`)) services.add(r.value.Name);
  const entries = chainEntries((k, n) => lookup(tx, k, n));
  const written = `${kind}/${name}`;
  // The written service's own chain first: its problems are the ones this write is about.
  for (const service of [...services].sort((a, b) => (a === name ? -1 : b === name ? 1 : a < b ? -1 : a > b ? 1 : 0))) {
    const result = compileDiscoveryChain(entries, service, datacenter);
    if (result.ok) continue;
    throw new ValidationError(
      result.problems.map((p) => ({
        path: p.entry === written ? p.path : '',
        message: `${p.entry === written ? '' : `${p.entry}${p.path ? ` ${p.path}` : ''}: `}${p.message} (in the discovery chain of "${service}")`,
      })),
      `invalid ${kind} config entry`,
    );
  }
}
