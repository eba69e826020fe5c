// The Vault provider's intermediate is renewed at half its life, as Consul's primary does for
// providers whose intermediate is apart from the root: against a real OpenBao, with a short
// IntermediateCertTTL and the CA's clock moved by hand. Vault's own clock is real time, so the
// certificates it makes are dated now; openssl judges at real time.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CAService } from '../../src/ca/ca-service.js';
import { renewedRoot } from '../../src/ca/intermediate-renewal.js';
import { MemoryCAStateStore, type PersistedRoot } from '../../src/ca/state-store.js';
import { ManualClock } from '../../src/core/clock.js';
import { vaultPlugin } from '../support/ca-plugins.js';
import { OpenBaoProcess } from '../support/openbao.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';
import { makeCsr, opensslVerify, splitPem } from './support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let bao: OpenBaoProcess;
before(async () => {
  bao = await OpenBaoProcess.start();
});
after(() => bao?.stop());

describe('Vault intermediate renewal', () => {
  it('at half its IntermediateCertTTL a new intermediate signs leaves, both are published, and old leaves still verify against the bundle', async () => {
    const clock = new ManualClock(Date.now());
    const log = recordingLogger();
    const store = new MemoryCAStateStore();
    const config = {
      Provider: 'vault',
      Config: { Address: bao.address, Token: bao.rootToken, RootPKIPath: 'renew-root', IntermediatePKIPath: 'renew-int', LeafCertTTL: '1h', IntermediateCertTTL: '3h', CSRMaxPerSecond: 0 },
    };
    const ca = new CAService({ store, clock, logger: log, datacenter: 'dc1', initialConfig: config });
    await ca.start();
    try {
      const sign = async () => ca.signLeaf(await makeCsr([`spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`]), { service: 'web' });
      const active = () => {
        const roots = ca.roots();
        return roots.Roots.find((r) => r.ID === roots.ActiveRootID) as (typeof roots.Roots)[number];
      };
      const before = active();
      assert.equal(before.IntermediateCerts.length, 1);
      const first = before.IntermediateCerts[0] as string;
      const oldLeaf = await sign();
      assert.equal(splitPem(oldLeaf.certPem)[1], first, 'a leaf comes with the intermediate that signed it');

      // An hour on: not half way yet, nothing changes.
      clock.advance(HOUR);
      assert.deepEqual(active(), before);
      // Past half of 3h: a new intermediate is made in Vault and takes over.
      clock.advance(40 * MINUTE);
      const renewed = await waitFor('the active root to list a second intermediate', () => (active().IntermediateCerts.length === 2 ? active() : undefined));
      assert.equal(ca.roots().ActiveRootID, before.ID, 'the same root');
      assert.equal(renewed.IntermediateCerts[0], first, 'the old intermediate stays published');
      const second = renewed.IntermediateCerts[1] as string;
      assert.notEqual(second, first);
      assert.notEqual(renewed.SigningKeyID, before.SigningKeyID, 'SigningKeyID names the new intermediate');
      const x = new X509Certificate(second);
      assert.ok(x.verify(new X509Certificate(before.RootCert).publicKey), 'signed by the same root');
      assert.ok(log.entries.some((e) => e.level === 'info' && /renewed the intermediate that signs leaves/.test(e.msg)));
      // Durable: what a restarted agent would publish.
      assert.deepEqual((await store.load())?.roots.find((r) => r.Active)?.IntermediateCerts, [first, second]);

      // New leaves chain to the new intermediate (and only it is sent with them).
      const newLeaf = await sign();
      const chain = splitPem(newLeaf.certPem);
      assert.deepEqual(chain.slice(1), [second]);
      assert.ok(opensslVerify(before.RootCert, chain[0] as string, second).ok, 'the new leaf verifies through the new intermediate');
      assert.ok(!opensslVerify(before.RootCert, chain[0] as string, first).ok, 'the old intermediate did not sign it');
      // Both leaves verify with openssl against the published bundle.
      const bundle = renewed.IntermediateCerts.join('');
      for (const leaf of [oldLeaf, newLeaf]) {
        const v = opensslVerify(before.RootCert, splitPem(leaf.certPem)[0] as string, bundle);
        assert.ok(v.ok, v.output);
      }
      // Vault holds both issuers in the intermediate mount; the new one is the default.
      const issuers = (await bao.ok('LIST', 'renew-int/issuers')).data?.keys as string[];
      assert.equal(issuers.length, 2);
      assert.equal((await bao.text('renew-int/ca/pem')).trim(), second.trim());

      // The old intermediate is unpublished once it has expired (no leaf it signed outlives it), not before.
      const record = (await store.load())?.roots.find((r) => r.Active) as PersistedRoot;
      const expiry = Date.parse(new X509Certificate(first).validTo);
      assert.equal(renewedRoot(record, undefined, expiry - 1000, 99), undefined);
      assert.deepEqual(renewedRoot(record, undefined, expiry, 99)?.IntermediateCerts, [second]);
      // And the CA does so when that time comes (the moment the second is half way through its life, so it is renewed too).
      clock.advance(expiry - clock.now() + MINUTE);
      const later = await waitFor('the expired intermediate to be unpublished', () => (active().IntermediateCerts.includes(first) ? undefined : active()));
      assert.equal(later.IntermediateCerts[0], second, 'the intermediate whose leaves may still be valid stays published');
      assert.equal(later.IntermediateCerts.length, 2);
      assert.ok(log.entries.some((e) => /renewed the intermediate/.test(e.msg) && e.fields.intermediates === 2 && e.fields.index === later.ModifyIndex));
    } finally {
      await ca.stop();
    }
  });

  it("a renewal Vault refuses is logged with Vault's message and retried, while the current intermediate goes on signing", async () => {
    const clock = new ManualClock(Date.now());
    const log = recordingLogger();
    const open = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }';
    await bao.ok('PUT', 'sys/policies/acl/renew-ca', { policy: open });
    const token = (await bao.ok('POST', 'auth/token/create', { policies: ['renew-ca'], no_parent: true })).auth?.client_token as string;
    const config = {
      Provider: 'vault',
      Config: { Address: bao.address, Token: token, RootPKIPath: 'retry-root', IntermediatePKIPath: 'retry-int', LeafCertTTL: '1h', IntermediateCertTTL: '3h', CSRMaxPerSecond: 0 },
    };
    const ca = new CAService({ store: new MemoryCAStateStore(), clock, logger: log, datacenter: 'dc1', initialConfig: config });
    await ca.start();
    try {
      const intermediates = () => ca.roots().Roots.find((r) => r.Active)?.IntermediateCerts ?? [];
      const first = intermediates()[0] as string;
      // The root mount stops signing intermediates for this token.
      await bao.ok('PUT', 'sys/policies/acl/renew-ca', { policy: `${open}\npath "retry-root/root/sign-intermediate" { capabilities = ["deny"] }` });
      clock.advance(100 * MINUTE);
      const failed = await waitFor('the failed renewal to be logged', () => log.entries.find((e) => e.level === 'error' && /renewing the CA intermediate failed/.test(e.msg)));
      assert.match(String(failed.fields.err), /retry-root\/root\/sign-intermediate: Vault answered 403: [\s\S]*permission denied/);
      assert.deepEqual(intermediates(), [first]);
      const leaf = await ca.signLeaf(await makeCsr([`spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`]), { service: 'web' });
      assert.deepEqual(splitPem(leaf.certPem).slice(1), [first], 'leaves are still signed, by the current intermediate');

      await bao.ok('PUT', 'sys/policies/acl/renew-ca', { policy: open });
      clock.advance(2 * MINUTE);
      await waitFor('the retried renewal to publish a second intermediate', () => intermediates().length === 2);
      assert.equal(intermediates()[0], first);
    } finally {
      await ca.stop();
    }
  });
});

describe('intermediate renewal through a plugin', () => {
  it('renews the leaf-signing intermediate of a plugin primary whose intermediate is apart from its root (GenerateIntermediate)', async () => {
    const clock = new ManualClock(Date.now());
    const log = recordingLogger();
    const plugin = vaultPlugin();
    const vaultSettings = { Address: bao.address, Token: bao.rootToken, RootPKIPath: 'plugin-root', IntermediatePKIPath: 'plugin-int' };
    const config = { Provider: 'plugin', Config: { plugin_cmd: plugin.cmd, plugin_data: vaultSettings, LeafCertTTL: '1h', IntermediateCertTTL: '3h', CSRMaxPerSecond: 0 } };
    const ca = new CAService({ store: new MemoryCAStateStore(), clock, logger: log, datacenter: 'dc1', initialConfig: config });
    await ca.start();
    try {
      const intermediates = () => ca.roots().Roots.find((r) => r.Active)?.IntermediateCerts ?? [];
      const [first] = intermediates();
      assert.ok(first, 'the plugin publishes its intermediate with the root');
      clock.advance(100 * MINUTE);
      await waitFor('the plugin\'s renewed intermediate to be published', () => intermediates().length === 2);
      const [, second] = intermediates();
      assert.equal((await bao.text('plugin-int/ca/pem')).trim(), second?.trim(), 'made in Vault by the plugin');
      const leaf = await ca.signLeaf(await makeCsr([`spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`]), { service: 'web' });
      const chain = splitPem(leaf.certPem);
      assert.deepEqual(chain.slice(1), [second]);
      const root = ca.roots().Roots.find((r) => r.Active)?.RootCert as string;
      const v = opensslVerify(root, chain[0] as string, intermediates().join(''));
      assert.ok(v.ok, v.output);
    } finally {
      await ca.stop();
    }
  });
});
