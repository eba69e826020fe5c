// What a sidecar and a terminating gateway both resolve for a service they accept mesh traffic
// for: its intentions narrowed to what the RBAC rules need, and the mesh entry's TLS parameters.
// One object per input result, so snapshots built from the same result share it (and what the
// generators build from it).
import type { ConfigEntryOf } from '../catalog/types.js';
import type { IntentionWithPermissions } from '../catalog/intentions/precedence.js';
import type { IntentionSource, MeshTlsSettings, TlsSettings } from './snapshot.js';

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

const meshTlsByEntry = new WeakMap<object, MeshTlsSettings>();

type MeshTlsEntry = NonNullable<ConfigEntryOf<'mesh'>['TLS']>;

function tlsSide(p: MeshTlsEntry['Incoming']): TlsSettings | undefined {
  if (!p || (!p.TLSMinVersion && !p.TLSMaxVersion && !p.CipherSuites?.length)) return undefined;
  return Object.freeze({
    ...(p.TLSMinVersion ? { minVersion: p.TLSMinVersion } : {}),
    ...(p.TLSMaxVersion ? { maxVersion: p.TLSMaxVersion } : {}),
    ...(p.CipherSuites?.length ? { cipherSuites: Object.freeze([...p.CipherSuites]) } : {}),
  });
}

/** The mesh entry's TLS, one object per entry (shared by every sidecar's snapshot). */
export function meshTlsSettings(tls: MeshTlsEntry | undefined): { meshTls?: MeshTlsSettings } {
  if (!tls) return {};
  let settings = meshTlsByEntry.get(tls);
  if (!settings) {
    const incoming = tlsSide(tls.Incoming);
    const outgoing = tlsSide(tls.Outgoing);
    if (!incoming && !outgoing) return {};
    settings = Object.freeze({ ...(incoming ? { incoming } : {}), ...(outgoing ? { outgoing } : {}) });
    meshTlsByEntry.set(tls, settings);
  }
  return { meshTls: settings };
}
