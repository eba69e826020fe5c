// The mesh entry's TLS parameters as a snapshot carries them (Incoming for listeners that take
// mesh TLS, Outgoing for clusters to sidecars), one frozen object per entry so every proxy's
// snapshot shares it. Read by every kind that speaks mesh TLS.
import type { ConfigEntryOf } from '../catalog/types.js';
import type { MeshTlsSettings, TlsSettings } from './snapshot.js';

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
