import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CA_CONFIG, needsNewRoot, parseCAConfig, withoutSecrets } from '../../src/ca/config.js';
import { formatDuration, parseDuration } from '../../src/core/duration.js';

describe('CA configuration', () => {
  it('defaults as Consul does: EC P-256, 72h leaves, 50 CSRs/s', () => {
    assert.deepEqual(DEFAULT_CA_CONFIG, {
      Provider: 'consul',
      ForceWithoutCrossSigning: false,
      Config: { PrivateKeyType: 'ec', PrivateKeyBits: 256, LeafCertTTL: '72h', RootCertTTL: '87600h', IntermediateCertTTL: '8760h', CSRMaxPerSecond: 50, CSRMaxConcurrent: 0 },
    });
    assert.equal(parseCAConfig({ Config: { PrivateKeyType: 'rsa' } }).Config.PrivateKeyBits, 2048);
  });

  it('reads a Vault configuration in the agent-config spelling, defaults filled in, and shows it without its secrets', () => {
    const c = parseCAConfig({
      Provider: 'vault',
      Config: { address: 'https://vault:8200', auth_method: { Type: 'approle', Params: { role_id: 'r', secret_id: 's3cret' } }, root_pki_path: 'connect-root', intermediate_pki_path: 'connect-int', tls_skip_verify: true },
    });
    assert.deepEqual(c.Config, {
      PrivateKeyType: 'ec', PrivateKeyBits: 256, LeafCertTTL: '72h', RootCertTTL: '87600h', IntermediateCertTTL: '8760h', CSRMaxPerSecond: 50, CSRMaxConcurrent: 0,
      Address: 'https://vault:8200', AuthMethod: { Type: 'approle', Params: { role_id: 'r', secret_id: 's3cret' } }, RootPKIPath: 'connect-root', IntermediatePKIPath: 'connect-int', TLSSkipVerify: true,
    });
    assert.doesNotMatch(JSON.stringify(withoutSecrets(c)), /s3cret/);
    assert.deepEqual((withoutSecrets(c).Config as { AuthMethod?: unknown }).AuthMethod, { Type: 'approle', Params: { role_id: 'r' } });
    const t = parseCAConfig({ Provider: 'vault', Config: { Address: 'http://v', Token: 'hvs.tok', IntermediatePKIPath: 'i' } });
    assert.doesNotMatch(JSON.stringify(withoutSecrets(t)), /hvs\.tok/);
    assert.equal(c.Provider, 'vault');
    if (c.Provider !== 'vault') return;
    assert.ok(needsNewRoot(c, { ...c, Config: { ...c.Config, RootPKIPath: 'other-root' } }), 'another root mount');
    assert.ok(!needsNewRoot(c, { ...c, Config: { ...c.Config, RootPKIPath: '/connect-root/' } }), 'the same mount, spelt with slashes');
    assert.ok(needsNewRoot(DEFAULT_CA_CONFIG, c), 'another provider');
  });

  it('accepts the agent config spelling of keys', () => {
    const c = parseCAConfig({ Config: { csr_max_per_second: 10, csr_max_concurrent: 2, leaf_cert_ttl: '24h', private_key_type: 'ec', private_key_bits: 384 } });
    assert.equal(c.Config.CSRMaxPerSecond, 10);
    assert.equal(c.Config.CSRMaxConcurrent, 2);
    assert.equal(c.Config.LeafCertTTL, '24h');
    assert.equal(c.Config.PrivateKeyBits, 384);
  });

  it('reports every problem with its path', () => {
    assert.throws(
      () => parseCAConfig({ Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 1024, LeafCertTTL: '30m', CSRMaxPerSecond: -1 } }),
      (err: Error) =>
        /Config\.PrivateKeyBits: rsa keys of 1024 bits are not supported \(use 2048 or 4096\)/.test(err.message) &&
        /Config\.LeafCertTTL: must be at least 1h/.test(err.message) &&
        /Config\.CSRMaxPerSecond/.test(err.message),
    );
    assert.throws(() => parseCAConfig({ Config: { IntermediateCertTTL: '100h' } }), /Config\.IntermediateCertTTL: must be at least three times LeafCertTTL/);
    assert.throws(() => parseCAConfig({ ForceWithoutCrossSigning: 'yes' }), /ForceWithoutCrossSigning/);
  });

  it('needs a new root only for key or root lifetime changes', () => {
    const base = DEFAULT_CA_CONFIG;
    assert.equal(needsNewRoot(base, parseCAConfig({ Config: { LeafCertTTL: '24h' } })), false);
    assert.equal(needsNewRoot(base, parseCAConfig({ Config: { PrivateKeyBits: 384 } })), true);
    assert.equal(needsNewRoot(base, parseCAConfig({ Config: { PrivateKeyType: 'rsa' } })), true);
  });

  it('formats durations as Go spells them', () => {
    assert.equal(formatDuration(72 * 3_600_000), '72h');
    assert.equal(formatDuration(90 * 60_000), '1h30m');
    assert.equal(formatDuration(0), '0s');
    assert.equal(parseDuration('x', formatDuration(123_456)), 123_456);
  });
});
