// snapshot -> all resources (generate + encode + intern) for one proxy with 1, 10, 100 and 1000
// upstreams (each with 3 endpoints, half of them http). Prints median and p95 per size.
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import type { CARoots, LeafCert } from '../src/ca/types.js';
import type { ConnectProxySnapshot, UpstreamSnapshot } from '../src/proxycfg/snapshot.js';
import { defaultChain } from '../src/catalog/config/chain.js';
import { generateResources } from '../src/xds/generate.js';
import { ResourceInterner } from '../src/xds/encode.js';

const CERTS = new URL('../../fixtures/certs/', import.meta.url).pathname;
const TD = '11111111-2222-3333-4444-555555555555.consul';

function snapshot(upstreamCount: number, salt: number): ConnectProxySnapshot {
  const roots: CARoots = {
    ActiveRootID: 'r1',
    TrustDomain: TD,
    Index: 1,
    Roots: [
      {
        ID: 'r1', Name: 'bench', SerialNumber: 1, SigningKeyID: 'k', ExternalTrustDomain: TD, NotBefore: '', NotAfter: '',
        RootCert: readFileSync(`${CERTS}ca.pem`, 'utf8'), IntermediateCerts: [], Active: true, PrivateKeyType: 'ec', PrivateKeyBits: 256, CreateIndex: 1, ModifyIndex: 1,
      },
    ],
  };
  const leaf: LeafCert = {
    SerialNumber: '1', CertPEM: readFileSync(`${CERTS}web.pem`, 'utf8'), PrivateKeyPEM: readFileSync(`${CERTS}web.key.pem`, 'utf8'),
    Service: 'web', ServiceURI: '', ValidAfter: '', ValidBefore: '', CreateIndex: 1, ModifyIndex: 1,
  };
  const upstreams: UpstreamSnapshot[] = Array.from({ length: upstreamCount }, (_, i) => ({
    id: `svc-${String(i).padStart(4, '0')}`,
    destinationName: `svc-${String(i).padStart(4, '0')}`,
    namespace: 'default',
    datacenter: 'dc1',
    bindAddress: '127.0.0.1',
    bindPort: 10000 + i,
    protocol: i % 2 === 0 ? 'tcp' : 'http',
    connectTimeoutMs: 5000,
    connectTimeoutFromUpstream: false,
    chain: defaultChain(`svc-${String(i).padStart(4, '0')}`, 'dc1', 'tcp'),
    endpoints: [
      {
        targetId: `svc-${String(i).padStart(4, '0')}.default.default.dc1`,
        endpoints: [1, 2, 3].map((n) => ({ node: `node-${n}`, address: `10.${n}.${(i >> 8) & 255}.${i & 255}`, port: 21000 + salt, health: 'passing' as const })),
      },
    ],
  }));
  return {
    kind: 'connect-proxy', proxyId: 'web-sidecar-proxy', service: 'web', namespace: 'default', datacenter: 'dc1', trustDomain: TD, roots, leaf,
    intentions: [], defaultIntentionPolicy: 'deny',
    publicListener: { bindAddress: '0.0.0.0', bindPort: 21000, protocol: 'tcp' },
    localApp: { address: '127.0.0.1', port: 8080, connectTimeoutMs: 5000 },
    upstreams, issues: [],
  };
}

function measure(count: number): void {
  const iterations = count >= 1000 ? 20 : count >= 100 ? 100 : 1000;
  // A fresh interner and a changed endpoint port per iteration: every resource is really encoded.
  const snaps = Array.from({ length: iterations + 5 }, (_, i) => snapshot(count, i));
  for (let i = 0; i < 5; i++) generateResources(snaps[i]!, { interner: new ResourceInterner() });
  const times: number[] = [];
  let resources = 0;
  for (let i = 5; i < snaps.length; i++) {
    const interner = new ResourceInterner();
    const t0 = performance.now();
    const set = generateResources(snaps[i]!, { interner });
    times.push(performance.now() - t0);
    resources = [...set.values()].reduce((n, m) => n + m.size, 0);
  }
  // The same snapshot again with a shared interner, as for another instance of the same service:
  // its shape and shared inputs were seen, so nothing is built or encoded again (lookups only).
  const shared = new ResourceInterner();
  const warm: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    generateResources(snaps[0]!, { interner: shared });
    warm.push(performance.now() - t0);
  }
  const [median, p95] = stats(times);
  const [warmMedian] = stats(warm);
  console.log(
    `upstreams=${String(count).padStart(4)}  resources=${String(resources).padStart(5)}  median=${median.toFixed(3)} ms  p95=${p95.toFixed(3)} ms  per-resource=${((median * 1000) / resources).toFixed(1)} us  another proxy of the same shape median=${warmMedian.toFixed(3)} ms  (n=${iterations})`,
  );
}

function stats(samples: number[]): [number, number] {
  const sorted = [...samples].sort((a, b) => a - b);
  return [sorted[Math.floor(sorted.length / 2)]!, sorted[Math.floor(sorted.length * 0.95)]!];
}

console.log('snapshot -> ResourceSet (generate + encode + hash + intern), one proxy');
for (const n of [1, 10, 100, 1000]) measure(n);
