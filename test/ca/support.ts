// Test helpers for the CA: CSRs as an agent makes them, and openssl as the independent judge.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nameCN } from '../../src/ca/certs.js';
import { buildCsr } from '../../src/ca/csr.js';
import { generateKey, signerFor, type KeySpec } from '../../src/ca/keys.js';

export const OPENSSL = '/usr/bin/openssl';

export async function makeCsr(uris: readonly string[], spec: KeySpec = { type: 'ec', bits: 256 }, cn = 'web'): Promise<Uint8Array> {
  const key = await generateKey(spec);
  return buildCsr(nameCN(cn), key.spki, uris, signerFor(spec, key.pkcs8));
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly output: string;
}

/** `openssl verify -CAfile roots [-untrusted chain] leaf`, at `atMs` (defaults to now). */
export function opensslVerify(rootsPem: string, leafPem: string, untrustedPem = '', atMs?: number): VerifyResult {
  const dir = mkdtempSync(join(tmpdir(), 'sy-ca-'));
  try {
    writeFileSync(join(dir, 'roots.pem'), rootsPem);
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    const args = ['verify', '-CAfile', join(dir, 'roots.pem')];
    if (untrustedPem) {
      writeFileSync(join(dir, 'chain.pem'), untrustedPem);
      args.push('-untrusted', join(dir, 'chain.pem'));
    }
    if (atMs !== undefined) args.push('-attime', String(Math.floor(atMs / 1000)));
    args.push(join(dir, 'leaf.pem'));
    const r = spawnSync(OPENSSL, args, { encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl x509 -text -noout` of the first certificate in `pem`. */
export function opensslText(pem: string): string {
  const r = spawnSync(OPENSSL, ['x509', '-text', '-noout'], { input: pem, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl x509 failed: ${r.stderr}`);
  return r.stdout;
}

/** Splits a PEM bundle into its certificates. */
export function splitPem(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)].map((m) => m[0].endsWith('\n') ? m[0] : `${m[0]}\n`);
}

/** Asserts with openssl that the first certificate of `bundlePem` (a leaf) chains to the active root of `roots`. */
export function assertUnderActiveRoot(roots: { readonly ActiveRootID: string; readonly Roots: readonly { readonly ID: string; readonly RootCert: string }[] }, bundlePem: string, untrustedPem = ''): void {
  const root = roots.Roots.find((r) => r.ID === roots.ActiveRootID)?.RootCert;
  assert.ok(root, `no active root ${roots.ActiveRootID} among ${roots.Roots.map((r) => r.ID).join(', ')}`);
  const v = opensslVerify(root, splitPem(bundlePem)[0] ?? '', untrustedPem);
  assert.ok(v.ok, v.output);
}
