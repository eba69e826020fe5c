// The CA inside a real agent on a durable SQLite store: restarts keep the root, and leaves
// served over HTTP verify with openssl against the published roots.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import type { CARoots as Roots } from '../../src/ca/types.js';


describe('CA in the agent', () => {
  it('keeps the same root, cluster id and trust domain across a restart on the same data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-ca-restart-'));
    try {
      const first = await TestAgent.start({ dataDir: dir });
      const before = (await first.get('/v1/connect/ca/roots')).json as Roots;
      const config = (await first.get('/v1/connect/ca/configuration')).json as { ClusterID: string };
      await first.agent.close();

      const second = await TestAgent.start({ dataDir: dir });
      const after = (await second.get('/v1/connect/ca/roots')).json as Roots;
      const config2 = (await second.get('/v1/connect/ca/configuration')).json as { ClusterID: string };
      await second.agent.close();

      assert.equal(after.ActiveRootID, before.ActiveRootID);
      assert.equal(after.TrustDomain, before.TrustDomain);
      assert.equal(after.TrustDomain, `${config.ClusterID}.consul`);
      assert.equal(config2.ClusterID, config.ClusterID);
      assert.equal(after.Roots[0]?.RootCert, before.Roots[0]?.RootCert);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a leaf over HTTP that openssl verifies against the published roots', async () => {
    const agent = await TestAgent.start();
    const dir = mkdtempSync(join(tmpdir(), 'sy-ca-leaf-'));
    try {
      const leaf = (await agent.get('/v1/agent/connect/ca/leaf/web')).json as { CertPEM: string; PrivateKeyPEM: string; ServiceURI: string };
      const roots = (await agent.get('/v1/connect/ca/roots?pem=true')).text;
      writeFileSync(join(dir, 'roots.pem'), roots);
      writeFileSync(join(dir, 'leaf.pem'), leaf.CertPEM);
      const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'roots.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
      assert.match(out, /leaf\.pem: OK/);
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
      assert.ok(text.includes(`URI:${leaf.ServiceURI}`), text);
      assert.match(leaf.ServiceURI, /^spiffe:\/\/[0-9a-f-]+\.consul\/ns\/default\/dc\/dc1\/svc\/web$/);
    } finally {
      await agent.agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
