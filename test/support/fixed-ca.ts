// The CA side of golden scenarios: fixed test certificates from fixtures/certs (generated once
// with openssl and committed), so generated Secrets are byte-for-byte stable. This is
// legitimately fixed data, not a stand-in for the real CA.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BehaviorSubject, type Observable } from 'rxjs';
import type { CARoots, LeafCert } from '../../src/ca/types.js';
import type { CASource } from '../../src/proxycfg/sources.js';
import { FIXTURES } from './scenario.js';

export const TEST_CLUSTER_ID = '11111111-2222-3333-4444-555555555555';
export const TEST_TRUST_DOMAIN = `${TEST_CLUSTER_ID}.consul`;
const CERTS = join(FIXTURES, 'certs');

export function testRoots(): CARoots {
  const pem = readFileSync(join(CERTS, 'ca.pem'), 'utf8');
  return {
    ActiveRootID: 'test-root-1',
    TrustDomain: TEST_TRUST_DOMAIN,
    Index: 1,
    Roots: [
      {
        ID: 'test-root-1',
        Name: 'Switchyard Test CA 1',
        SerialNumber: 1,
        SigningKeyID: 'test-signing-key-1',
        ExternalTrustDomain: TEST_TRUST_DOMAIN,
        NotBefore: '2026-11-24T05:08:11Z',
        NotAfter: '2126-10-31T05:08:11Z',
        RootCert: pem,
        IntermediateCerts: [],
        Active: true,
        PrivateKeyType: 'ec',
        PrivateKeyBits: 256,
        CreateIndex: 1,
        ModifyIndex: 1,
      },
    ],
  };
}

export function testLeaf(service: string, datacenter = 'dc1'): LeafCert {
  const cert = join(CERTS, `${service}.pem`);
  if (!existsSync(cert)) throw new Error(`no fixed test leaf for service "${service}" in fixtures/certs (have web, api, db, cache, billing, ingress-gateway)`);
  return {
    SerialNumber: service,
    CertPEM: readFileSync(cert, 'utf8'),
    PrivateKeyPEM: readFileSync(join(CERTS, `${service}.key.pem`), 'utf8'),
    Service: service,
    ServiceURI: `spiffe://${TEST_TRUST_DOMAIN}/ns/default/dc/${datacenter}/svc/${service}`,
    ValidAfter: '2026-11-24T05:08:11Z',
    ValidBefore: '2126-10-31T05:08:11Z',
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

/** A CASource serving the fixed roots and each service's fixed leaf. */
export function fixedCASource(): CASource & { readonly roots: BehaviorSubject<CARoots> } {
  const roots = new BehaviorSubject(testRoots());
  return {
    roots,
    watchRoots: (): Observable<CARoots> => roots,
    watchLeaf: (service: string): Observable<LeafCert> => new BehaviorSubject(testLeaf(service)),
  };
}
