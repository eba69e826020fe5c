// Intention precedence and the decision for one source -> destination pair, as Consul orders
// them (namespaces are always "default" here): exact names before wildcards, the destination
// weighing more than the source.
import { createHash } from 'node:crypto';
import { DEFAULT_NAMESPACE } from '../../core/names.js';
import type { Intention, IntentionDecision } from '../types.js';
import type { IntentionSource, ServiceIntentionsEntry } from './schema.js';

export type DefaultPolicy = 'allow' | 'deny';

export function precedence(source: string, destination: string): number {
  if (destination !== '*') return source !== '*' ? 9 : 8;
  return source !== '*' ? 6 : 5;
}

/** A stable ID for an intention kept in a config entry (Consul gives these a UUID). */
export function intentionId(source: string, destination: string): string {
  const h = createHash('sha256').update(`${source}\u0000${destination}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface StoredIntentions extends ServiceIntentionsEntry {
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface IntentionWithPermissions extends Intention {
  /** L7 rules: an intention with Permissions is decided per request, so at L4 it denies. */
  readonly Permissions?: IntentionSource['Permissions'];
}

export function intentionsOf(entry: StoredIntentions): IntentionWithPermissions[] {
  return (entry.Sources ?? []).map((s) => ({
    ID: s.LegacyID || intentionId(s.Name, entry.Name),
    SourceName: s.Name,
    SourceNS: DEFAULT_NAMESPACE,
    DestinationName: entry.Name,
    DestinationNS: DEFAULT_NAMESPACE,
    SourceType: 'consul',
    Action: s.Action ?? 'deny',
    ...(s.Permissions?.length ? { Permissions: s.Permissions } : {}),
    Description: s.Description ?? '',
    // Left out when empty, as Consul's omitempty (its Go client reads an absent Meta as nil).
    ...(s.LegacyMeta && Object.keys(s.LegacyMeta).length > 0 ? { Meta: s.LegacyMeta } : {}),
    // Consul's legacy times; absent for a source written in a config entry (Go reads the zero time).
    ...(s.LegacyCreateTime ? { CreatedAt: s.LegacyCreateTime } : {}),
    ...(s.LegacyUpdateTime ? { UpdatedAt: s.LegacyUpdateTime } : {}),
    Precedence: precedence(s.Name, entry.Name),
    CreateIndex: entry.CreateIndex,
    ModifyIndex: entry.ModifyIndex,
  }));
}

/** Highest precedence first; ties by destination then source name, so the order is stable. */
export function sortIntentions<T extends Intention>(list: readonly T[]): T[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...list].sort((a, b) => b.Precedence - a.Precedence || cmp(a.DestinationName, b.DestinationName) || cmp(a.SourceName, b.SourceName));
}

/** Decides `source -> destination` from the intentions for that destination (exact and `*`). */
export function decide(intentions: readonly IntentionWithPermissions[], source: string, destination: string, defaultPolicy: DefaultPolicy): IntentionDecision {
  const match = sortIntentions(intentions).find(
    (i) => (i.DestinationName === destination || i.DestinationName === '*') && (i.SourceName === source || i.SourceName === '*'),
  );
  // Consul's words: its default intention policy is its ACL default policy.
  if (!match) return { Allowed: defaultPolicy === 'allow', Reason: 'Default behavior configured by ACLs' };
  if (match.Permissions?.length) {
    return { Allowed: false, Reason: `Matched L7 intention ${match.SourceName} => ${match.DestinationName}: its permissions are decided per request`, MatchedID: match.ID };
  }
  return {
    Allowed: match.Action === 'allow',
    Reason: `Matched intention ${match.SourceName} => ${match.DestinationName} (${match.Action}, precedence ${match.Precedence})`,
    MatchedID: match.ID,
  };
}
