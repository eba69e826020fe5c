// Pure functions over the published roots: the record of a new root, the list after a
// rotation, and pruning roots whose leaves have all expired.
import { certFingerprint, readCert } from './cert-info.js';
import type { CAConfig } from './config.js';
import { certDer, certPem, colonHex } from './pem.js';
import type { RootChain } from './provider.js';
import type { PersistedRoot } from './state-store.js';
import type { CARoot, CARoots } from './types.js';

/** Consul's timestamp spelling: RFC 3339 without fractional seconds. */
export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface NewRootInput {
  readonly chain: RootChain;
  /** The certificate that signs leaves (its key id is the root's SigningKeyID). */
  readonly signingCert: Uint8Array;
  /** Extra intermediates, e.g. the new root cross-signed by the old one. */
  readonly crossSigned?: Uint8Array;
  readonly config: CAConfig;
  readonly clusterId: string;
  readonly index: number;
}

export function rootRecord(input: NewRootInput): PersistedRoot {
  const root = readCert(input.chain.root);
  const signing = readCert(input.signingCert);
  const serial = root.serial.reduce((n, b) => (n * 256n + BigInt(b)) & ((1n << 53n) - 1n), 0n);
  return {
    ID: certFingerprint(input.chain.root),
    Name: 'Switchyard CA Primary Cert',
    SerialNumber: Number(serial),
    SigningKeyID: colonHex(signing.subjectKeyId ?? new Uint8Array()),
    ExternalTrustDomain: input.clusterId,
    NotBefore: isoSeconds(root.notBefore),
    NotAfter: isoSeconds(root.notAfter),
    RootCert: certPem(input.chain.root),
    IntermediateCerts: [...input.chain.intermediates, ...(input.crossSigned ? [input.crossSigned] : [])].map(certPem),
    Active: true,
    PrivateKeyType: input.config.Config.PrivateKeyType,
    PrivateKeyBits: input.config.Config.PrivateKeyBits,
    CreateIndex: input.index,
    ModifyIndex: input.index,
  };
}

/**
 * The active root's record when its provider gives it a new chain (the same root, another
 * intermediate): what was cross-signed for it (its own key, issued by an older root) stays
 * published, and so does the key type it was made with.
 */
export function rechainedRoot(active: PersistedRoot, input: NewRootInput): PersistedRoot {
  const rootKey = Buffer.from(readCert(certDer(active.RootCert)).spki);
  const crossSigned = active.IntermediateCerts.filter((pem) => rootKey.equals(Buffer.from(readCert(certDer(pem)).spki)));
  const next = rootRecord(input);
  return { ...next, IntermediateCerts: [...next.IntermediateCerts, ...crossSigned], CreateIndex: active.CreateIndex, PrivateKeyType: active.PrivateKeyType, PrivateKeyBits: active.PrivateKeyBits };
}

/**
 * The roots after `next` becomes active: the previously active root is kept, inactive, until the
 * last leaf it can have signed (issued at most now, living at most `oldLeafTtlMs`) has expired.
 * A root that comes back while still published (a switch back to a Vault mount that kept it) is
 * listed once, as the active one: one record per ID.
 */
export function rotateRoots(roots: readonly PersistedRoot[], next: PersistedRoot, now: number, oldLeafTtlMs: number, index: number): PersistedRoot[] {
  const kept = roots
    .filter((r) => r.ID !== next.ID)
    .map((r) => (r.Active ? { ...r, Active: false, RotatedOutAt: now, PruneAfter: now + oldLeafTtlMs, ModifyIndex: index } : r));
  return [...kept, next];
}

/** Drops inactive roots whose leaves have all expired; undefined when nothing changes. */
export function pruneRoots(roots: readonly PersistedRoot[], now: number): PersistedRoot[] | undefined {
  const kept = roots.filter((r) => r.Active || r.PruneAfter === undefined || r.PruneAfter > now);
  return kept.length === roots.length ? undefined : kept;
}

export function nextPruneAt(roots: readonly PersistedRoot[]): number | undefined {
  const times = roots.filter((r) => !r.Active && r.PruneAfter !== undefined).map((r) => r.PruneAfter as number);
  return times.length ? Math.min(...times) : undefined;
}

export function publicRoots(roots: readonly PersistedRoot[], trustDomain: string, index: number): CARoots {
  const active = roots.find((r) => r.Active);
  return {
    ActiveRootID: active?.ID ?? '',
    TrustDomain: trustDomain,
    Roots: roots.map(({ RotatedOutAt: _r, PruneAfter: _p, ...root }): CARoot => root),
    Index: index,
  };
}
