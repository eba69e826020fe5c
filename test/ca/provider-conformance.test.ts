// One provider conformance suite for every CA provider: the built-in one, Vault (a real OpenBao),
// and the Go and TypeScript example plugins driven through the go-plugin host. The same calls the
// CA makes, judged by openssl and node:crypto: a SPIFFE root and leaves that verify through the
// chain the provider reports, the same CA resumed by a new provider instance, a secondary's
// intermediate (CSR, sign, set), and cross-signing a new root for a rotation.
// Plugin-only behaviour (the process, its log) is in plugin-conformance.test.ts.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { parseCAConfigRequest } from '../../src/ca/config.js';
import { validateIntermediateCsr } from '../../src/ca/intermediate-validation.js';
import { certPem, toPem } from '../../src/ca/pem.js';
import { PluginProvider } from '../../src/ca/plugin/plugin-provider.js';
import type { CAProvider, ProviderConfig } from '../../src/ca/provider.js';
import { VaultProvider } from '../../src/ca/vault/vault-provider.js';
import { systemClock } from '../../src/core/clock.js';
import { nullLogger } from '../../src/core/logger.js';
import { goPlugin, tsPlugin, type PluginBinary } from '../support/ca-plugins.js';
import { OpenBaoProcess } from '../support/openbao.js';
import { makeCsr, opensslText, opensslVerify } from './support.js';

const CLUSTER = '11111111-2222-3333-4444-555555555555';
const TD = `${CLUSTER}.consul`;
const WEB = `spiffe://${TD}/ns/default/dc/dc1/svc/web`;
const API_DC2 = `spiffe://${TD}/ns/default/dc/dc2/svc/api`;
const HOUR = 3_600_000;

const subjectKeyId = (der: Uint8Array): string | undefined => /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslText(certPem(der)))?.[1];

/** Where a provider keeps its CA: `fresh` gives a new CA, the same `place` twice the same one. */
interface Make {
  (opts: { readonly place: string; readonly isPrimary?: boolean; readonly state?: Readonly<Record<string, string>> }): Promise<CAProvider>;
}

interface Subject {
  readonly title: string;
  setup(): Promise<Make>;
  teardown(): Promise<void>;
}

const base = (isPrimary: boolean): Pick<ProviderConfig, 'clusterId' | 'isPrimary' | 'datacenter'> => ({ clusterId: CLUSTER, isPrimary, datacenter: isPrimary ? 'dc1' : 'dc2' });

function pluginSubject(title: string, binary: () => Promise<PluginBinary>): Subject {
  const open: PluginProvider[] = [];
  return {
    title: `${title} through the plugin host`,
    async setup() {
      const plugin = await binary();
      return async ({ isPrimary = true, state }) => {
        const p = new PluginProvider({ logger: nullLogger, clock: systemClock });
        open.push(p);
        await p.configure({ ...base(isPrimary), state, rawConfig: { plugin_cmd: plugin.cmd, plugin_checksum: plugin.sha256, plugin_data: {}, PrivateKeyType: 'ec', PrivateKeyBits: 256 } });
        return p;
      };
    },
    async teardown() {
      await Promise.all(open.map((p) => p.close()));
    },
  };
}

const SUBJECTS: readonly Subject[] = [
  {
    title: 'the built-in provider',
    setup: () =>
      Promise.resolve(async ({ isPrimary = true, state }) => {
        const p = new BuiltinProvider(systemClock);
        await p.configure({ ...base(isPrimary), state, rawConfig: { PrivateKeyType: 'ec', PrivateKeyBits: 256 } });
        return p;
      }),
    teardown: () => Promise.resolve(),
  },
  (() => {
    let bao: OpenBaoProcess | undefined;
    const open: VaultProvider[] = [];
    return {
      title: 'the Vault provider against a real OpenBao',
      async setup(): Promise<Make> {
        const server = await OpenBaoProcess.start();
        bao = server;
        return async ({ place, isPrimary = true, state }) => {
          const settings = parseCAConfigRequest({ Provider: 'vault', Config: { Address: server.address, Token: server.rootToken, RootPKIPath: `${place}-root`, IntermediatePKIPath: `${place}-int` } }).config.Config;
          const p = new VaultProvider({ clock: systemClock, logger: nullLogger });
          open.push(p);
          await p.configure({ ...base(isPrimary), state, rawConfig: { ...settings } });
          return p;
        };
      },
      async teardown() {
        open.forEach((p) => void p.close());
        await bao?.stop();
      },
    };
  })(),
  pluginSubject('the Go example plugin', goPlugin),
  pluginSubject('the TypeScript example plugin', () => Promise.resolve(tsPlugin())),
];

let places = 0;
const fresh = (): string => `ca${++places}`;

for (const subject of SUBJECTS) {
  describe(`CA provider conformance: ${subject.title}`, () => {
    let make: Make;
    before(async () => {
      make = await subject.setup();
    });
    after(() => subject.teardown());

    it("makes a SPIFFE root and signs a leaf for the CSR's service that openssl verifies through the reported chain", async () => {
      const p = await make({ place: fresh() });
      const { root, intermediates } = await p.generateRoot();
      const rootText = opensslText(certPem(root));
      assert.match(rootText, /CA:TRUE/);
      assert.match(rootText, new RegExp(`URI:spiffe://${TD}`));
      const signing = await p.activeLeafSigningCert();
      assert.deepEqual(signing, intermediates.at(-1) ?? root, 'leaves are signed by the end of the chain the root comes with');
      assert.deepEqual((await p.generateRoot()).root, root, 'asked again, the same root');

      const leaf = await p.sign(await makeCsr([WEB]), { ttlMs: 24 * HOUR });
      const v = opensslVerify(certPem(root), certPem(leaf), intermediates.map(certPem).join(''));
      assert.ok(v.ok, v.output);
      const cert = new X509Certificate(leaf);
      assert.equal(cert.subjectAltName, `URI:${WEB}`);
      assert.ok(cert.verify(new X509Certificate(signing).publicKey));
      assert.equal(cert.ca, false);
      const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
      // The TTL asked for (plus at most the minute leaves may be backdated; Vault rounds to the second).
      assert.ok(lifetime >= 24 * HOUR - 1000 && lifetime <= 24 * HOUR + 61_000, `lifetime ${lifetime} ms`);
      assert.match(opensslText(certPem(leaf)), /TLS Web Server Authentication, TLS Web Client Authentication/);
    });

    it('resumes the same CA in a new provider instance from its state and its place', async () => {
      const place = fresh();
      const a = await make({ place });
      const { root } = await a.generateRoot();
      const b = await make({ place, state: await a.state() });
      const resumed = await b.generateRoot();
      assert.deepEqual(resumed.root, root);
      const leaf = await b.sign(await makeCsr([WEB]), { ttlMs: HOUR });
      const v = opensslVerify(certPem(root), certPem(leaf), resumed.intermediates.map(certPem).join(''));
      assert.ok(v.ok, v.output);
    });

    it('gives a secondary an intermediate (CSR, sign, set) whose leaves verify through the chain', async () => {
      const primary = await make({ place: fresh() });
      const { root } = await primary.generateRoot();
      const secondary = await make({ place: fresh(), isPrimary: false });
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
      assert.equal(opensslVerify(certPem(root), certPem(leaf)).ok, false, 'signed by the intermediate, not the root');
    });

    it('cross-signs a new root so leaves of the new root verify under the old one', async () => {
      const old = await make({ place: fresh() });
      const oldRoot = (await old.generateRoot()).root;
      assert.equal(await old.supportsCrossSigning(), true);
      const next = await make({ place: fresh() });
      const nextChain = await next.generateRoot();
      const cross = await old.crossSignCA(nextChain.root);
      const crossCert = new X509Certificate(cross);
      const newCert = new X509Certificate(nextChain.root);
      assert.equal(crossCert.subject, newCert.subject);
      assert.ok(crossCert.publicKey.equals(newCert.publicKey));
      assert.ok(crossCert.verify(new X509Certificate(oldRoot).publicKey));
      // Its key identifier is the new root's: what the new root signed names it as its authority.
      assert.equal(subjectKeyId(cross), subjectKeyId(nextChain.root));
      const leaf = await next.sign(await makeCsr([WEB]), { ttlMs: HOUR });
      // A peer that trusts only the old root accepts the new leaf with the cross-signed certificate.
      const v = opensslVerify(certPem(oldRoot), certPem(leaf), [...nextChain.intermediates, cross].map(certPem).join(''));
      assert.ok(v.ok, v.output);
    });
  });
}
