import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { prng } from '../support/http-fuzz.js';

// A seeded, bounded fuzz of PUT /v1/connect/ca/configuration over the real HTTP server. Bodies
// are valid configurations, mutations of them (case, types, unknown and duplicate keys, missing
// parts, bad values) and random JSON. Every reply must be a 200 or a 4xx; after every refused
// body the roots and the configuration must be exactly what they were.

const CASES = 400;
const SEED = 0x5eed_ca;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class Gen {
  constructor(private readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  scalar(): Json {
    return this.pick<Json>([null, true, false, 0, -1, 1.5, 1e308, 384, '', 'consul', 'ec', '72h', '-1h', '1e3h', 'x'.repeat(this.int(300)), '\u0000', '72h0m0s']);
  }
  value(depth = 0): Json {
    if (depth > 3 || this.chance(0.5)) return this.scalar();
    if (this.chance(0.5)) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    const o: Record<string, Json> = {};
    for (let i = this.int(4); i > 0; i--) o[this.pick(KEYS)] = this.value(depth + 1);
    return o;
  }
}

const TOP = ['Provider', 'Config', 'State', 'ForceWithoutCrossSigning', 'force_without_cross_signing', 'ClusterID', 'CreateIndex', 'ModifyIndex'];
const SETTINGS = ['PrivateKeyType', 'PrivateKeyBits', 'LeafCertTTL', 'RootCertTTL', 'IntermediateCertTTL', 'CSRMaxPerSecond', 'CSRMaxConcurrent', 'RotationPeriod', 'SkipValidate', 'private_key_type', 'private_key_bits', 'leaf_cert_ttl', 'csr_max_per_second'];
const KEYS = [...TOP, ...SETTINGS, 'provider', 'config', 'PROVIDER', 'Bogus', '', '__proto__x', 'constructor'];

const VALID_SETTINGS: Record<string, Json>[] = [
  { PrivateKeyType: 'ec', PrivateKeyBits: 384 },
  { PrivateKeyType: 'ec', PrivateKeyBits: 384, LeafCertTTL: '24h' },
  { PrivateKeyType: 'ec', PrivateKeyBits: 256, LeafCertTTL: '72h', CSRMaxPerSecond: 0 },
  { private_key_type: 'ec', private_key_bits: 384, csr_max_concurrent: 2 },
];

/** Values each field must refuse, whatever the rest of the body holds. */
const BAD: Record<string, readonly Json[]> = {
  Provider: [7, '', 'vault', 'aws-pca', 'Consul', 'consul ', null, ['consul']],
  Config: ['x', 7, [], [1], null],
  State: ['x', 7, [1], { private_key: 'x' }],
  ForceWithoutCrossSigning: ['yes', 1, null],
  CreateIndex: [-3, 'yes', 1.5, []],
  LeafCertTTL: [72, 'soon', '', '10m', '9000h', true, null, '1h30'],
  RootCertTTL: [72, 'soon', '', '10m', '70000000h', null],
  IntermediateCertTTL: [72, 'soon', '10m', '100000h'],
  // A number is whole nanoseconds (Go's JSON for a time.Duration): a negative or fractional one is no duration.
  RotationPeriod: [-72, 1.5, 'soon', '', null],
  PrivateKeyBits: [0, 521, 1024, '384', 384.5, -256, null],
  PrivateKeyType: ['EC', 'dsa', '', 1, null],
  CSRMaxPerSecond: [-1, 'fast', null, true],
  CSRMaxConcurrent: [-1, 1.5, 'two', null],
  SkipValidate: [true, 'false', 1],
  PrivateKey: [true, '-----BEGIN EC PRIVATE KEY-----'],
  RootCert: [1, '-----BEGIN CERTIFICATE-----'],
};
const TOP_BAD = ['Provider', 'Config', 'State', 'ForceWithoutCrossSigning', 'CreateIndex'];
const SETTING_BAD = Object.keys(BAD).filter((k) => !TOP_BAD.includes(k));

/** A valid body with one thing wrong: each of these must be refused. */
function mutate(g: Gen, settings: Record<string, Json>): Json {
  const body: Record<string, Json> = { Provider: 'consul', Config: { ...settings } };
  const config = body.Config as Record<string, Json>;
  switch (g.int(6)) {
    case 0: {
      // A required key in the wrong case (Go's decoder would take it; Switchyard names it).
      const k = g.pick(['Provider', 'Config']);
      body[g.pick([k.toLowerCase(), k.toUpperCase()])] = body[k] as Json;
      delete body[k];
      return body;
    }
    case 1:
      delete body[g.pick(['Provider', 'Config'])];
      return body;
    case 2: {
      const k = g.pick(TOP_BAD);
      body[k] = g.pick(BAD[k] as Json[]);
      return body;
    }
    case 3:
      body[g.pick(['Bogus', 'provider', 'Configs', 'state', 'DisableCrossSigning'])] = g.scalar();
      return body;
    case 4:
      config[g.pick(['Bogus', 'privatekeytype', 'LEAFCERTTTL', 'DisableCrossSigning', 'TestState'])] = g.scalar();
      return body;
    default: {
      const k = g.pick(SETTING_BAD);
      config[k] = g.pick(BAD[k] as Json[]);
      return body;
    }
  }
}

let a: TestAgent;
before(async () => {
  a = await TestAgent.start();
  assert.equal((await a.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: VALID_SETTINGS[0] })).status, 200);
});
after(() => a.close());

async function snapshot() {
  return JSON.stringify([(await a.get('/v1/connect/ca/roots')).json, (await a.get('/v1/connect/ca/configuration')).json]);
}

describe('PUT /v1/connect/ca/configuration fuzz', () => {
  it(`answers ${CASES} seeded bodies with no 5xx, and every refused body changes nothing`, async (t) => {
    const g = new Gen(prng(SEED));
    const counts = { valid: 0, mutated: 0, random: 0, accepted: 0, refused: 0 };
    let was = await snapshot();
    for (let i = 0; i < CASES; i++) {
      const kind = g.pick(['valid', 'mutated', 'mutated', 'mutated', 'random', 'random'] as const);
      counts[kind]++;
      const settings = g.pick(VALID_SETTINGS);
      const body = kind === 'valid' ? { Provider: 'consul', Config: settings } : kind === 'mutated' ? mutate(g, settings) : g.value();
      const text = kind === 'random' && g.chance(0.2) ? JSON.stringify(body).slice(0, g.int(40)) : JSON.stringify(body);
      const r = await a.put('/v1/connect/ca/configuration', text);
      const where = `case ${i} (seed ${SEED}, ${kind}): ${text.slice(0, 300)} -> ${r.status} ${r.text}`;
      assert.ok(r.status < 500, where);
      if (kind === 'valid') assert.equal(r.status, 200, where);
      if (kind === 'mutated') assert.equal(r.status, 400, where);
      const now = await snapshot();
      if (r.status === 200) {
        counts.accepted++;
        was = now;
      } else {
        counts.refused++;
        assert.equal(now, was, `${where}: a refused body changed the roots or the configuration`);
      }
    }
    t.diagnostic(JSON.stringify(counts));
    assert.ok(counts.refused > CASES / 2, JSON.stringify(counts));
  });
});
