// One provider conformance suite, driven through the go-plugin host (PluginProvider), for both
// example plugins: the Go one (go-plugin v1.8.0, crypto/x509) and the TypeScript one (serve()).
// openssl and node:crypto judge every certificate.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { validateIntermediateCsr } from '../../src/ca/intermediate-validation.js';
import { certPem, toPem } from '../../src/ca/pem.js';
import { PluginProvider } from '../../src/ca/plugin/plugin-provider.js';
import type { ProviderConfig } from '../../src/ca/provider.js';
import { systemClock } from '../../src/core/clock.js';
import { goPlugin, tsPlugin, type PluginBinary } from '../support/ca-plugins.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';
import { makeCsr, opensslText, opensslVerify } from './support.js';

const CLUSTER = '11111111-2222-3333-4444-555555555555';
const TD = `${CLUSTER}.consul`;
const WEB = `spiffe://${TD}/ns/default/dc/dc1/svc/web`;
const API_DC2 = `spiffe://${TD}/ns/default/dc/dc2/svc/api`;
const HOUR = 3_600_000;

const subjectKeyId = (der: Uint8Array): string | undefined => /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslText(certPem(der)))?.[1];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const PLUGINS: ReadonlyArray<[string, () => Promise<PluginBinary>]> = [
  ['the Go example plugin', goPlugin],
  ['the TypeScript example plugin', () => Promise.resolve(tsPlugin())],
];

for (const [title, binary] of PLUGINS) {
  describe(`CA provider conformance: ${title} through the plugin host`, () => {
    let plugin: PluginBinary;
    const providers: PluginProvider[] = [];
    const log = recordingLogger();

    before(async () => {
      plugin = await binary();
    });
    after(async () => {
      await Promise.all(providers.map((p) => p.close()));
    });

    async function provider(over: Partial<ProviderConfig> = {}, data: Record<string, unknown> = {}): Promise<PluginProvider> {
      const p = new PluginProvider({ logger: log, clock: systemClock });
      providers.push(p);
      await p.configure({ clusterId: CLUSTER, isPrimary: true, datacenter: 'dc1', rawConfig: { plugin_cmd: plugin.cmd, plugin_checksum: plugin.sha256, plugin_data: data, PrivateKeyType: 'ec', PrivateKeyBits: 256 }, ...over });
      return p;
    }

    it('makes a SPIFFE root and signs a leaf for the CSR\'s service that openssl verifies', async () => {
      const p = await provider();
      const { root, intermediates } = await p.generateRoot();
      assert.deepEqual(intermediates, []);
      const rootText = opensslText(certPem(root));
      assert.match(rootText, /CA:TRUE/);
      assert.match(rootText, new RegExp(`URI:spiffe://${TD}`));
      assert.deepEqual(await p.activeLeafSigningCert(), root);
      // Asked again, the same root.
      assert.deepEqual((await p.generateRoot()).root, root);

      const leaf = await p.sign(await makeCsr([WEB]), { ttlMs: 24 * HOUR });
      const v = opensslVerify(certPem(root), certPem(leaf));
      assert.ok(v.ok, v.output);
      const cert = new X509Certificate(leaf);
      assert.equal(cert.subjectAltName, `URI:${WEB}`);
      assert.ok(cert.verify(new X509Certificate(root).publicKey));
      assert.equal(cert.ca, false);
      const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
      // The TTL asked for (plus at most the minute leaves are backdated).
      assert.ok(lifetime >= 24 * HOUR - 1000 && lifetime <= 24 * HOUR + 61_000, `lifetime ${lifetime} ms`);
      assert.match(opensslText(certPem(leaf)), /TLS Web Server Authentication, TLS Web Client Authentication/);
    });

    it('resumes the same root from its state in a new plugin process', async () => {
      const a = await provider();
      const { root } = await a.generateRoot();
      const state = await a.state();
      assert.ok(Object.keys(state).length > 0, 'the plugin has state to persist');
      const b = await provider({ state });
      assert.notEqual(b.pid, a.pid);
      assert.deepEqual((await b.generateRoot()).root, root);
      const leaf = await b.sign(await makeCsr([WEB]), { ttlMs: HOUR });
      assert.ok(opensslVerify(certPem(root), certPem(leaf)).ok);
    });

    it('gives a secondary an intermediate (CSR, set) whose leaves verify through the chain', async () => {
      const primary = await provider();
      const { root } = await primary.generateRoot();
      const secondary = await provider({ isPrimary: false, datacenter: 'dc2' });
      const { csr, opaque } = await secondary.generateIntermediateCsr();
      // What a primary takes from a secondary: CA:true, this trust domain, nothing else.
      validateIntermediateCsr(toPem('CERTIFICATE REQUEST', csr), TD);
      const intermediate = await primary.signIntermediate(csr);
      const text = opensslText(certPem(intermediate));
      assert.match(text, /CA:TRUE, pathlen:0/);
      assert.match(text, new RegExp(`URI:spiffe://${TD}`));
      assert.ok(opensslVerify(certPem(root), certPem(intermediate)).ok);

      await secondary.setIntermediate(intermediate, root, opaque);
      assert.deepEqual(await secondary.activeLeafSigningCert(), intermediate);
      const leaf = await secondary.sign(await makeCsr([API_DC2]), { ttlMs: HOUR });
      const v = opensslVerify(certPem(root), certPem(leaf), certPem(intermediate));
      assert.ok(v.ok, v.output);
      assert.equal(new X509Certificate(leaf).subjectAltName, `URI:${API_DC2}`);
      // Without the intermediate the leaf does not verify: it was signed by the intermediate.
      assert.equal(opensslVerify(certPem(root), certPem(leaf)).ok, false);
    });

    it('cross-signs a new root so leaves of the new root verify under the old one', async () => {
      const old = await provider();
      const oldRoot = (await old.generateRoot()).root;
      assert.equal(await old.supportsCrossSigning(), true);
      const next = await provider();
      const newRoot = (await next.generateRoot()).root;
      const cross = await old.crossSignCA(newRoot);
      const crossCert = new X509Certificate(cross);
      const newCert = new X509Certificate(newRoot);
      assert.equal(crossCert.subject, newCert.subject);
      assert.ok(crossCert.publicKey.equals(newCert.publicKey));
      assert.ok(crossCert.verify(new X509Certificate(oldRoot).publicKey));
      // Its key identifier is the new root's: the new root's leaves name it as their authority.
      assert.equal(subjectKeyId(cross), subjectKeyId(newRoot));
      const leaf = await next.sign(await makeCsr([WEB]), { ttlMs: HOUR });
      // A peer that trusts only the old root accepts the new leaf with the cross-signed certificate.
      const v = opensslVerify(certPem(oldRoot), certPem(leaf), certPem(cross));
      assert.ok(v.ok, v.output);
    });

    it('cleans up: the plugin process is gone and calls fail naming the provider', async () => {
      const p = await provider();
      await p.generateRoot();
      const pid = p.pid as number;
      assert.ok(alive(pid));
      await p.cleanup(false, {});
      await waitFor('the plugin process to exit', () => !alive(pid));
      await assert.rejects(p.sign(await makeCsr([WEB]), { ttlMs: HOUR }), /CA provider plugin "(ca-plugin-go|ts-ca-plugin)" is not running/);
    });

    it('mirrors the plugin\'s stderr log lines into the agent log at their level, with its name', () => {
      const address = log.entries.find((e) => e.msg === 'plugin address' && e.fields.plugin === plugin.name);
      assert.ok(address, `no "plugin address" entry from ${plugin.name}: ${JSON.stringify(log.entries.slice(0, 3))}`);
      assert.equal(address.level, 'debug');
      assert.equal(address.fields.network, 'unix');
      assert.equal(address.fields.component, 'ca-plugin');
      assert.equal(address.fields.module, plugin.name);
      if (plugin.name === 'ca-plugin-go') {
        // The Go plugin's own hclog entries, at info, with their fields.
        const configured = log.entries.find((e) => e.msg === 'configured' && e.fields.plugin === plugin.name);
        assert.equal(configured?.level, 'info');
        assert.equal(configured.fields.cluster_id, CLUSTER);
      }
    });
  });
}
