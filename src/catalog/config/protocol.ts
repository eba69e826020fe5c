// A service's protocol, decided in one place: the most specific setting wins (a proxy's or an
// upstream's own Config, then the service's service-defaults `Protocol`, then proxy-defaults
// `Config.protocol`), else tcp. Used when a config entry is written (routing needs an HTTP-based
// protocol) and by proxycfg when it resolves a proxy's listeners and upstreams.
import type { ConfigEntry, Protocol } from '../types.js';
import { protocol as protocolSchema } from './common.js';

export const DEFAULT_PROTOCOL: Protocol = 'tcp';

/** What one entry says about the protocol: nothing, a protocol, or a stored value that is none. */
export type ProtocolSetting =
  | { readonly valid: true; readonly field: ProtocolField; readonly protocol: Protocol }
  | { readonly valid: false; readonly field: ProtocolField; readonly message: string };

export type ProtocolField = 'Protocol' | 'Config.protocol';

/** The protocol field of a service-defaults (`Protocol`) or proxy-defaults (`Config.protocol`) entry, when set. */
export function protocolOfEntry(entry: ConfigEntry): ProtocolSetting | undefined {
  const field: ProtocolField = entry.Kind === 'proxy-defaults' ? 'Config.protocol' : 'Protocol';
  const raw: unknown = entry.Kind === 'proxy-defaults' ? entry.Config?.protocol : entry.Kind === 'service-defaults' ? entry.Protocol : undefined;
  if (raw === undefined || raw === '') return undefined;
  const parsed = protocolSchema.safeParse(raw);
  if (parsed.success) return { valid: true, field, protocol: parsed.data };
  return { valid: false, field, message: parsed.error.issues[0]?.message ?? 'is not a protocol' };
}

/**
 * The protocol from the most specific of `settings` (most specific first) that sets one; tcp
 * when none does. An invalid stored setting is passed over (proxycfg reports it as an issue).
 */
export function resolveProtocol(...settings: readonly (Protocol | ConfigEntry | undefined)[]): Protocol {
  for (const s of settings) {
    if (s === undefined) continue;
    if (typeof s === 'string') return s;
    const set = protocolOfEntry(s);
    if (set?.valid) return set.protocol;
  }
  return DEFAULT_PROTOCOL;
}
