// The leaves work for what the mesh uses them for: mutual TLS with each side verifying the
// other's chain against the published roots (Node's TLS is OpenSSL), before and after a rotation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { CAService } from '../../src/ca/ca-service.js';
import { LeafManager } from '../../src/ca/leaf-manager.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import type { LeafCert } from '../../src/ca/types.js';
import { systemClock } from '../../src/core/clock.js';
import { nullLogger } from '../../src/core/logger.js';

/** Handshakes client -> server with both sides requiring a verified peer; returns the peers' URI SANs. */
async function handshake(server: LeafCert, serverCa: string, client: LeafCert, clientCa: string): Promise<{ seenByServer: string; seenByClient: string }> {
  let seenByServer = '';
  const srv = createServer({ cert: server.CertPEM, key: server.PrivateKeyPEM, ca: serverCa, requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
    seenByServer = s.getPeerCertificate().subjectaltname ?? '';
    s.end('ok');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as AddressInfo).port;
    return await new Promise((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port, cert: client.CertPEM, key: client.PrivateKeyPEM, ca: clientCa, checkServerIdentity: () => undefined }, () => {
        const seenByClient = sock.getPeerCertificate().subjectaltname ?? '';
        sock.on('data', () => {
          sock.end();
          resolve({ seenByServer, seenByClient });
        });
      });
      sock.on('error', reject);
    });
  } finally {
    srv.close();
  }
}

describe('mutual TLS with issued leaves', () => {
  it('works under one root, and across a rotation for a peer that still trusts only the old root', async () => {
    const ca = new CAService({ store: new MemoryCAStateStore(), clock: systemClock, logger: nullLogger, datacenter: 'dc1', initialConfig: { Config: { CSRMaxPerSecond: 0 } } });
    await ca.start();
    const leaves = new LeafManager({ ca, clock: systemClock, logger: nullLogger });
    try {
      const oldRoots = ca.roots().Roots.map((r) => r.RootCert).join('');
      const db = await leaves.getLeaf('db');
      const web = await leaves.getLeaf('web');
      const r = await handshake(db, oldRoots, web, oldRoots);
      assert.equal(r.seenByServer, `URI:${web.ServiceURI}`);
      assert.equal(r.seenByClient, `URI:${db.ServiceURI}`);

      await ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 } });
      const allRoots = ca.roots().Roots.map((x) => x.RootCert).join('');
      const newWeb = await leaves.getLeaf('web');
      assert.notEqual(newWeb.SerialNumber, web.SerialNumber);
      // db has not been re-issued yet and trusts only the old root: the cross-signed cert in
      // web's chain carries it; web, with the new bundle, still accepts db's old leaf.
      const r2 = await handshake(db, oldRoots, newWeb, allRoots);
      assert.equal(r2.seenByServer, `URI:${newWeb.ServiceURI}`);
    } finally {
      // Their timers would keep the test process alive if an assertion failed.
      leaves.stop();
      ca.stop();
    }
  });
});
