import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

// PUT /v1/connect/ca/configuration over the real HTTP server, on a CA already rotated to P-384:
// a body that changes anything must validly ask for it; anything else is a 400 naming the field
// and leaves the roots and the configuration exactly as they were.

const P384 = { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, LeafCertTTL: '72h' } };

let a: TestAgent;
before(async () => {
  a = await TestAgent.start();
  const r = await a.put('/v1/connect/ca/configuration', P384);
  assert.equal(r.status, 200, r.text);
});
after(() => a.close());

async function state() {
  return { roots: (await a.get('/v1/connect/ca/roots')).json, config: (await a.get('/v1/connect/ca/configuration')).json };
}

/** PUTs `body`, expects a 400 matching every pattern, and checks that nothing changed. */
async function refused(body: unknown, ...patterns: RegExp[]): Promise<string> {
  const was = await state();
  const r = await a.put('/v1/connect/ca/configuration', typeof body === 'string' ? body : JSON.stringify(body));
  assert.equal(r.status, 400, `${JSON.stringify(body)} answered ${r.status}: ${r.text}`);
  for (const p of patterns) assert.match(r.text, p, JSON.stringify(body));
  assert.deepEqual(await state(), was, `${JSON.stringify(body)} changed the CA`);
  return r.text;
}

describe('PUT /v1/connect/ca/configuration validation', () => {
  it('refuses a lowercase body, naming the field, instead of rotating the P-384 root back to P-256', async () => {
    await refused({ provider: 'consul', config: { PrivateKeyType: 'ec', PrivateKeyBits: 256 } }, /provider: unknown field.*"Provider"/, /config: unknown field.*"Config"/);
    await refused({ Provider: 'consul', Config: { privatekeytype: 'ec', PrivateKeyBits: 384 } }, /Config\.privatekeytype: unknown field.*"PrivateKeyType"/);
    const roots = (await a.get('/v1/connect/ca/roots')).json as { Roots: { Active: boolean; PrivateKeyBits: number }[] };
    assert.equal(roots.Roots.find((r) => r.Active)?.PrivateKeyBits, 384);
  });

  it('refuses a body that sets no provider or no config', async () => {
    await refused({ Config: P384.Config }, /Provider: is required/);
    await refused({ Provider: 'consul' }, /Config: is required/);
    await refused({}, /Provider: is required/, /Config: is required/);
    await refused({ ForceWithoutCrossSigning: true }, /Provider: is required/);
    for (const body of ['[]', '"consul"', '42', 'null', 'true', '[{"Provider":"consul","Config":{}}]']) await refused(body, /must be a JSON object/);
  });

  it('refuses unknown fields and wrong types, naming each', async () => {
    await refused({ ...P384, Bogus: 1 }, /Bogus: unknown field/);
    await refused({ Provider: 7, Config: {} }, /Provider: must be a string/);
    await refused({ Provider: 'aws-pca', Config: {} }, /Provider: "aws-pca" is not supported/);
    await refused({ Provider: 'vault', Config: {} }, /Config\.Address: is required/, /Config\.IntermediatePKIPath: is required/, /Config\.Token: is required/);
    await refused({ Provider: 'consul', Config: [] }, /Config: must be an object/);
    await refused({ Provider: 'consul', Config: 'ec' }, /Config: must be an object/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, Frobnicate: true } }, /Config\.Frobnicate: unknown field/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, LeafCertTTL: 2.5 } }, /Config\.LeafCertTTL: must be a duration string/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, PrivateKeyBits: '384' } }, /Config\.PrivateKeyBits/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, CSRMaxPerSecond: 'fast' } }, /Config\.CSRMaxPerSecond/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, CSRMaxConcurrent: 1.5 } }, /Config\.CSRMaxConcurrent/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, LeafCertTTL: '72h', leaf_cert_ttl: '24h' } }, /Config\.leaf_cert_ttl: given twice/);
    await refused({ ...P384, ForceWithoutCrossSigning: 'yes' }, /ForceWithoutCrossSigning: must be true or false/);
    await refused({ ...P384, State: { private_key: 'x' } }, /State: is read-only/);
    await refused({ ...P384, State: 'x' }, /State/);
    await refused({ ...P384, CreateIndex: -1 }, /CreateIndex/);
    await refused({ ...P384, ClusterID: 'another-cluster' }, /ClusterID: cannot be changed/);
  });

  it('refuses settings of Consul\'s provider that Switchyard does not honour, rather than ignoring them', async () => {
    await refused({ Provider: 'consul', Config: { ...P384.Config, SkipValidate: true } }, /Config\.SkipValidate: is not supported/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, PrivateKey: '-----BEGIN EC PRIVATE KEY-----' } }, /Config\.PrivateKey: is not supported/);
    await refused({ Provider: 'consul', Config: { ...P384.Config, RootCert: '-----BEGIN CERTIFICATE-----' } }, /Config\.RootCert: is not supported/);
  });

  it('refuses a Vault configuration that misses or misstates a setting, naming each, before Vault is asked anything', async () => {
    const V = { Address: 'http://127.0.0.1:1', Token: 't', RootPKIPath: 'connect-root', IntermediatePKIPath: 'connect-intermediate' };
    const vault = (over: Record<string, unknown>) => ({ Provider: 'vault', Config: { ...V, ...over } });
    await refused(vault({ Address: undefined }), /Config\.Address: is required/);
    await refused(vault({ Address: 'vault:8200' }), /Config\.Address: must be an http:\/\/ or https:\/\/ URL/);
    await refused(vault({ Address: 'ftp://vault' }), /Config\.Address: must be an http:\/\/ or https:\/\/ URL/);
    await refused(vault({ Token: undefined }), /Config\.Token: is required: a Vault token, or an AuthMethod/);
    await refused(vault({ Token: '' }), /Config\.Token: must not be empty/);
    await refused(vault({ AuthMethod: { Type: 'approle', Params: { role_id: 'r', secret_id: 's' } } }), /Config\.AuthMethod: only one of Token and AuthMethod/);
    await refused(vault({ Token: undefined, AuthMethod: { Type: 'kubernetes', Params: { role: 'x' } } }), /Config\.AuthMethod\.Type: must be "approle"/, /Config\.AuthMethod\.Params\.role: unknown field/);
    await refused(vault({ Token: undefined, AuthMethod: { Type: 'approle', Params: { role_id: 'r' } } }), /Config\.AuthMethod\.Params\.secret_id: is required/);
    await refused(vault({ IntermediatePKIPath: undefined }), /Config\.IntermediatePKIPath: is required/);
    await refused(vault({ IntermediatePKIPath: 'connect-root/' }), /Config\.IntermediatePKIPath: must not be the same as RootPKIPath/);
    await refused(vault({ RootPKIPath: 'sys/root' }), /Config\.RootPKIPath: names a path Vault reserves/);
    await refused(vault({ RootPKIPath: 'a b' }), /Config\.RootPKIPath: must be a mount path/);
    await refused(vault({ TLSSkipVerify: 'yes' }), /Config\.TLSSkipVerify: must be true or false/);
    await refused(vault({ CertFile: '/etc/client.pem' }), /Config\.KeyFile: CertFile and KeyFile must be given together/);
    await refused(vault({ Namespace: 'team-a' }), /Config\.Namespace: is not supported/);
    await refused(vault({ Tokn: 'x' }), /Config\.Tokn: unknown field/);
    await refused(vault({ token: 'x' }), /Config\.token: given twice \(as Token and token\)/);
    await refused(vault({ PrivateKey: 'x' }), /Config\.PrivateKey: unknown field/);
    await refused(vault({ LeafCertTTL: '9000h' }), /Config\.LeafCertTTL: must be at most 8760h/);
  });

  it('accepts what Consul\'s API client sends, and a read-modify-write round trip changes nothing', async () => {
    // api.CAConfig as Go's encoding/json writes it: State null, indexes 0, durations as given,
    // plus RotationPeriod from older Consul defaults (no effect there either).
    const fromGo = {
      Provider: 'consul',
      Config: { LeafCertTTL: '72h0m0s', RotationPeriod: '2160h', IntermediateCertTTL: '8760h', RootCertTTL: '87600h', PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 50, CSRMaxConcurrent: 0, SkipValidate: false },
      State: null,
      ForceWithoutCrossSigning: false,
      CreateIndex: 0,
      ModifyIndex: 0,
    };
    const was = await state();
    const r = await a.put('/v1/connect/ca/configuration', fromGo);
    assert.equal(r.status, 200, r.text);
    const now = await state();
    const rootsOf = (s: { roots: unknown }) => (s.roots as { Roots: unknown }).Roots;
    assert.deepEqual(rootsOf(now), rootsOf(was), 'same key settings: no rotation');
    assert.equal((now.config as { Config: { LeafCertTTL: string } }).Config.LeafCertTTL, '72h0m0s');

    const index = a.agent.store.currentIndex();
    const echoed = await a.put('/v1/connect/ca/configuration', now.config);
    assert.equal(echoed.status, 200, echoed.text);
    assert.deepEqual(await state(), now, 'GET then PUT of the same configuration changes nothing');
    assert.equal(a.agent.store.currentIndex(), index, 'and writes nothing');
  });

  it('rotates only for a body that validly asks for a new key', async () => {
    const was = await state();
    const r = await a.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { private_key_type: 'ec', private_key_bits: 256 }, force_without_cross_signing: false });
    assert.equal(r.status, 200, r.text);
    const roots = (await a.get('/v1/connect/ca/roots')).json as { Roots: { Active: boolean; PrivateKeyBits: number }[] };
    assert.notDeepEqual(roots, was.roots);
    assert.equal(roots.Roots.find((x) => x.Active)?.PrivateKeyBits, 256);
    assert.equal((await a.put('/v1/connect/ca/configuration', P384)).status, 200);
  });
});
