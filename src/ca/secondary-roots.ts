// A secondary datacenter's roots, as pure functions: the primary's roots (one trust domain for
// both), with the root this datacenter's intermediate chains to marked Active and carrying that
// intermediate (Consul appends it to the root's IntermediateCerts and takes its key id as the
// SigningKeyID). Until a new intermediate is installed the root it chains to stays Active here,
// even when the primary has rotated: both roots are then in the bundle, and leaves are re-issued
// only once they can chain to the new one.
import { isDeepStrictEqual } from 'node:util';
import { readCert } from './cert-info.js';
import { certDer, colonHex } from './pem.js';
import type { PersistedRoot } from './state-store.js';
import type { CARoot, CARoots } from './types.js';

export interface LocalSigning {
  /** The primary's root the intermediate chains to. */
  readonly rootId: string;
  readonly intermediatePem: string;
}

export function signingKeyId(intermediatePem: string): string {
  return colonHex(readCert(certDer(intermediatePem)).subjectKeyId ?? new Uint8Array());
}

const withoutIndexes = ({ CreateIndex: _c, ModifyIndex: _m, ...rest }: PersistedRoot): Omit<PersistedRoot, 'CreateIndex' | 'ModifyIndex'> => rest;

/**
 * The secondary's roots from the primary's, the intermediate in use, and the roots it had: a root
 * the primary no longer lists is kept only while leaves this datacenter signed under it may live
 * (`leafTtlMs` after it stopped being the one signed with).
 */
export function secondaryRoots(local: readonly PersistedRoot[], primary: CARoots, signing: LocalSigning | undefined, now: number, leafTtlMs: number, index: number): PersistedRoot[] {
  const previous = new Map(local.map((r) => [r.ID, r]));
  const stamp = (next: PersistedRoot): PersistedRoot => {
    const prev = previous.get(next.ID);
    if (!prev) return { ...next, CreateIndex: index, ModifyIndex: index };
    const kept = { ...next, CreateIndex: prev.CreateIndex, ModifyIndex: prev.ModifyIndex };
    return isDeepStrictEqual(withoutIndexes(kept), withoutIndexes(prev)) ? prev : { ...kept, ModifyIndex: index };
  };
  const listed = new Set(primary.Roots.map((r) => r.ID));
  const out: PersistedRoot[] = [];
  for (const prev of local) {
    if (listed.has(prev.ID)) continue;
    if (signing?.rootId === prev.ID) out.push(prev);
    else if (prev.Active) out.push(stamp({ ...prev, Active: false, RotatedOutAt: now, PruneAfter: now + leafTtlMs }));
    else if (prev.PruneAfter !== undefined && prev.PruneAfter > now) out.push(prev);
  }
  for (const root of primary.Roots) {
    const active = signing?.rootId === root.ID;
    const fromPrimary: CARoot = { ...root, IntermediateCerts: [...root.IntermediateCerts] };
    out.push(
      stamp(
        active
          ? { ...fromPrimary, Active: true, IntermediateCerts: [...root.IntermediateCerts, (signing as LocalSigning).intermediatePem], SigningKeyID: signingKeyId((signing as LocalSigning).intermediatePem) }
          : { ...fromPrimary, Active: false },
      ),
    );
  }
  return out;
}

/** The leaf chain after the leaf: the signing intermediate first, then the certificates above it. */
export function secondaryChain(active: CARoot): readonly string[] {
  const certs = active.IntermediateCerts;
  return certs.length ? [certs[certs.length - 1] as string, ...certs.slice(0, -1)] : [];
}
