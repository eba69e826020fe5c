// A second, independent parser (@peculiar/x509) reads what the CA issues: the leaf's SAN, key
// usages, basic constraints, validity and its chain of key identifiers up to the root.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import { CAService } from '../../src/ca/ca-service.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import { ManualClock } from '../../src/core/clock.js';
import { nullLogger } from '../../src/core/logger.js';
import { makeCsr } from './support.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

describe('issued certificates, read by @peculiar/x509', () => {
  it('carry the identity, mesh key usages, a one-minute backdate and the chain of key ids', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const ca = new CAService({ store: new MemoryCAStateStore(), clock, logger: nullLogger, datacenter: 'dc1', initialConfig: { Config: { CSRMaxPerSecond: 0, LeafCertTTL: '24h' } } });
    await ca.start();
    const uri = `spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`;
    const signed = await ca.signLeaf(await makeCsr([uri]), { service: 'web' });
    const leaf = new x509.X509Certificate(signed.certPem);
    const root = new x509.X509Certificate(ca.roots().Roots[0]!.RootCert);

    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.toJSON(), [{ type: 'url', value: uri }]);
    const ku = leaf.getExtension(x509.KeyUsagesExtension);
    assert.equal(ku?.critical, true);
    assert.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyAgreement);
    assert.deepEqual([...(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(leaf.notBefore.getTime(), clock.now() - 60_000);
    assert.equal(leaf.notAfter.getTime(), clock.now() + 24 * 3_600_000);
    assert.equal(leaf.issuer, root.subject);
    assert.equal(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, root.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    assert.ok(await leaf.verify({ publicKey: root, date: new Date(clock.now()) }));

    assert.equal(root.getExtension(x509.BasicConstraintsExtension)?.ca, true);
    assert.deepEqual(root.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [{ type: 'url', value: `spiffe://${ca.trustDomain}` }]);
    assert.ok(await root.isSelfSigned());
  });
});
