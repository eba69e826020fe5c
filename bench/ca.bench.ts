// Leaf certificates signed per second on one core: CSR validation (parse, self-signature check,
// identity checks) plus signing by the built-in provider, one after another. Also prints the
// machine's raw ECDSA P-256 signing rate as the ceiling, and the agent-side cost with key
// generation included.
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { CAService } from '../src/ca/ca-service.js';
import { nameCN } from '../src/ca/certs.js';
import { buildCsr } from '../src/ca/csr.js';
import { generateKey, signerFor } from '../src/ca/keys.js';
import { MemoryCAStateStore } from '../src/ca/state-store.js';
import { systemClock } from '../src/core/clock.js';
import { nullLogger } from '../src/core/logger.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

async function rate(label: string, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < SECONDS * 1000) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
  }
  const perSec = n / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(58)} ${Math.round(perSec).toString().padStart(7)} /s`);
  return perSec;
}

const ca = new CAService({ store: new MemoryCAStateStore(), clock: systemClock, logger: nullLogger, datacenter: 'dc1', initialConfig: { Config: { CSRMaxPerSecond: 0 } } });
await ca.start();
const spec = { type: 'ec', bits: 256 } as const;
const csrs: Uint8Array[] = [];
for (let i = 0; i < 256; i++) {
  const key = await generateKey(spec);
  const uri = `spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/svc${i}`;
  csrs.push(buildCsr(nameCN(`svc${i}`), key.spki, [uri], signerFor(spec, key.pkcs8)));
}

const raw = await generateKey(spec);
const rawKey = createPrivateKey({ key: Buffer.from(raw.pkcs8), format: 'der', type: 'pkcs8' });
const data = new Uint8Array(400);
const sig = sign('sha256', data, rawKey);
const jwk = createPublicKey(rawKey).export({ format: 'jwk' });
await rate('ceiling: raw ECDSA P-256 signatures (node:crypto)', () => sign('sha256', data, rawKey));
await rate('ceiling: import CSR key + verify CSR + sign leaf (raw crypto)', () => {
  verify('sha256', data, createPublicKey({ key: jwk, format: 'jwk' }), sig);
  return sign('sha256', data, rawKey);
});

let i = 0;
const leaves = await rate('leaves signed (validate CSR + sign, EC P-256 root)', () => {
  i = (i + 1) % csrs.length;
  return ca.signLeaf(csrs[i] as Uint8Array, { service: `svc${i}` });
});

let j = 0;
await rate('agent side: new key + CSR + validate + sign', async () => {
  j++;
  const key = await generateKey(spec);
  const uri = `spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/svc${j}`;
  return ca.signLeaf(buildCsr(nameCN('svc'), key.spki, [uri], signerFor(spec, key.pkcs8)), { service: `svc${j}` });
});

console.log(`\nleaf certificates signed per second on one core: ${Math.round(leaves)} (target >= 2000)`);
ca.stop();
