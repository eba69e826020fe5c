// What a sidecar and a terminating gateway both resolve for a service they accept mesh traffic
// for: its intentions narrowed to what the RBAC rules need (the mesh entry's TLS is in mesh-tls.ts).
// One object per input result, so snapshots built from the same result share it (and what the
// generators build from it).
import type { IntentionWithPermissions } from '../catalog/intentions/precedence.js';
import type { IntentionSource } from './snapshot.js';

/**
 * One narrowed list per intentions result: the shared watch hands every proxy of a service the
 * same result, so their snapshots hold the same array and what is built from it is shared.
 */
const sourcesByResult = new WeakMap<readonly IntentionWithPermissions[], readonly IntentionSource[]>();

export function intentionSources(intentions: readonly IntentionWithPermissions[]): readonly IntentionSource[] {
  let sources = sourcesByResult.get(intentions);
  if (!sources) {
    sources = Object.freeze(
      intentions.map((i) => ({
        sourceName: i.SourceName,
        sourceNamespace: i.SourceNS,
        action: i.Action,
        precedence: i.Precedence,
        ...(i.Permissions?.length ? { permissions: i.Permissions } : {}),
      })),
    );
    sourcesByResult.set(intentions, sources);
  }
  return sources;
}
