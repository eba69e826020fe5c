import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { parseCAConfigRequest, type VaultSettings } from '../../src/ca/config.js';
import { validateIntermediateCsr } from '../../src/ca/intermediate-validation.js';
import { certPem, toPem } from '../../src/ca/pem.js';
import type { ProviderConfig } from '../../src/ca/provider.js';
import { VaultProvider } from '../../src/ca/vault/vault-provider.js';
import { systemClock } from '../../src/core/clock.js';
import { ValidationError } from '../../src/core/errors.js';
import { nullLogger } from '../../src/core/logger.js';
import { OpenBaoProcess } from '../support/openbao.js';
import { waitFor } from '../support/wait.js';
import { makeCsr, opensslText, opensslVerify } from './support.js';

// The Vault provider against a real OpenBao (`bao server -dev`): the PKI mounts, the root and
// the intermediate are Vault's, and openssl judges what it signs against the root Vault holds.

const CLUSTER = '11111111-2222-3333-4444-555555555555';
const TRUST_DOMAIN = `${CLUSTER}.consul`;
const WEB = `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web`;
const HOUR = 3_600_000;

let bao: OpenBaoProcess;
before(async () => {
  bao = await OpenBaoProcess.start();
  // What a token of the provider needs (sudo for root/sign-self-issued, sys/mounts to mount).
  await bao.ok('PUT', 'sys/policies/acl/connect-ca', { policy: 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }' });
});
after(() => bao?.stop());

/** Settings as the CA configuration parses them (defaults filled in). */
function settings(config: Record<string, unknown>): VaultSettings {
  return parseCAConfigRequest({ Provider: 'vault', Config: { Address: bao.address, ...config } }).config.Config as VaultSettings;
}

function providerConfig(config: Record<string, unknown>, isPrimary = true): ProviderConfig {
  return { clusterId: CLUSTER, isPrimary, datacenter: isPrimary ? 'dc1' : 'dc2', rawConfig: { ...settings(config) } };
}

const open: VaultProvider[] = [];
async function configured(config: Record<string, unknown>, isPrimary = true): Promise<VaultProvider> {
  const p = new VaultProvider({ clock: systemClock, logger: nullLogger });
  open.push(p);
  await p.configure(providerConfig(config, isPrimary));
  return p;
}
after(() => open.forEach((p) => p.close()));

async function rootPemOf(path: string): Promise<string> {
  return bao.text(`${path}/ca/pem`);
}

async function mounts(): Promise<Record<string, { type: string }>> {
  return (await bao.ok('GET', 'sys/mounts')).data as Record<string, { type: string }>;
}

describe('Vault CA provider against a real OpenBao', () => {
  it('configured from nothing, it mounts both PKI engines, and its leaves verify with openssl against the root Vault holds', async () => {
    const paths = { RootPKIPath: 'fresh-root', IntermediatePKIPath: 'fresh-int/' };
    assert.equal((await mounts())['fresh-root/'], undefined);
    const p = await configured({ Token: bao.rootToken, ...paths });
    const chain = await p.generateRoot();
    const m = await mounts();
    assert.equal(m['fresh-root/']?.type, 'pki');
    assert.equal(m['fresh-int/']?.type, 'pki');

    const rootPem = await rootPemOf('fresh-root');
    assert.equal(certPem(chain.root), rootPem.endsWith('\n') ? rootPem : `${rootPem}\n`, 'the root returned is the one in RootPKIPath');
    assert.match(opensslText(rootPem), new RegExp(`URI:spiffe://${TRUST_DOMAIN}`));
    assert.equal(chain.intermediates.length, 1);
    const intermediate = certPem(chain.intermediates[0] as Uint8Array);
    assert.deepEqual(await p.activeLeafSigningCert(), chain.intermediates[0]);

    const leaf = await p.sign(await makeCsr([WEB]), { ttlMs: 24 * HOUR });
    const leafPem = certPem(leaf);
    const v = opensslVerify(rootPem, leafPem, intermediate);
    assert.ok(v.ok, v.output);
    const x = new X509Certificate(leaf);
    assert.equal(x.subjectAltName, `URI:${WEB}`);
    assert.ok(Math.abs(Date.parse(x.validTo) - Date.now() - 24 * HOUR) < 5 * 60_000, `a 24h leaf, not ${x.validTo}`);

    // Vault's own record of what it issued.
    const listed = (await bao.ok('LIST', 'fresh-int/certs')).data?.keys as string[];
    const serial = x.serialNumber.toLowerCase().replace(/(..)(?!$)/g, '$1:');
    assert.ok(listed.includes(serial), `LIST fresh-int/certs (${listed.join(', ')}) has the leaf ${serial}`);
    const leaves = await Promise.all(listed.map(async (s) => String((await bao.ok('GET', `fresh-int/cert/${s}`)).data?.certificate)));
    assert.ok(leaves.some((c) => new X509Certificate(c).serialNumber === x.serialNumber));
  });

  it('a second configure finds the root (and intermediate) already in Vault and keeps them', async () => {
    const paths = { RootPKIPath: 'reuse-root', IntermediatePKIPath: 'reuse-int' };
    const first = await (await configured({ Token: bao.rootToken, ...paths })).generateRoot();
    const second = await configured({ Token: bao.rootToken, ...paths });
    const again = await second.generateRoot();
    assert.deepEqual(again.root, first.root, 'same root');
    assert.deepEqual(again.intermediates, first.intermediates, 'same intermediate');
    const issuers = (await bao.ok('LIST', 'reuse-root/issuers')).data?.keys as string[];
    assert.equal(issuers.length, 1, 'no second root was generated');
    const v = opensslVerify(await rootPemOf('reuse-root'), certPem(await second.sign(await makeCsr([WEB]), { ttlMs: HOUR })), certPem(again.intermediates[0] as Uint8Array));
    assert.ok(v.ok, v.output);
  });

  it("a wrong token is refused when configuring, with Vault's message, naming the provider and the field (and a primary without RootPKIPath)", async () => {
    const err = await new VaultProvider({ clock: systemClock, logger: nullLogger })
      .configure(providerConfig({ Token: 'not-a-token', RootPKIPath: 'x-root', IntermediatePKIPath: 'x-int' }))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ValidationError, String(err));
    assert.match(err.message, /Config\.Token: vault CA provider: .*auth\/token\/lookup-self: Vault answered 403: permission denied/);
    assert.equal((await mounts())['x-root/'], undefined, 'nothing was mounted');
    const noRoot = await new VaultProvider({ clock: systemClock, logger: nullLogger })
      .configure(providerConfig({ Token: bao.rootToken, IntermediatePKIPath: 'x-int' }, true))
      .then(() => undefined, (e: unknown) => e);
    assert.match(String(noRoot), /Config\.RootPKIPath: is required in the primary datacenter/);

  });

  it("reports any other Vault refusal with Vault's message (a mount that is not PKI, a CSR Vault will not sign)", async () => {
    await bao.ok('POST', 'sys/mounts/not-pki', { type: 'kv' });
    const p = await configured({ Token: bao.rootToken, RootPKIPath: 'not-pki', IntermediatePKIPath: 'np-int' });
    await assert.rejects(p.generateRoot(), /vault CA provider: the mount not-pki is a kv secrets engine, not pki/);
    const good = await configured({ Token: bao.rootToken, RootPKIPath: 'refuse-root', IntermediatePKIPath: 'refuse-int' });
    await good.generateRoot();
    // The role takes URI SANs of this trust domain only.
    await assert.rejects(good.sign(await makeCsr(['spiffe://other.consul/ns/default/dc/dc1/svc/web']), { ttlMs: HOUR }), /vault CA provider: POST .*refuse-int\/sign\/leaf-cert: Vault answered 400: URI Subject Alternative Names were provided via CSR which are not valid for this role/);
  });

  it('logs in with AppRole and renews its token, so it keeps signing past the TTL the login gave', async () => {
    await bao.ok('POST', 'sys/auth/approle', { type: 'approle' });
    await bao.ok('POST', 'auth/approle/role/switchyard', { token_ttl: '3s', token_max_ttl: '10m', token_policies: ['connect-ca'] });
    const roleId = String((await bao.ok('GET', 'auth/approle/role/switchyard/role-id')).data?.role_id);
    const secretId = String((await bao.ok('POST', 'auth/approle/role/switchyard/secret-id')).data?.secret_id);
    const loggedInAt = Date.now();
    const p = await configured({ AuthMethod: { Type: 'approle', Params: { role_id: roleId, secret_id: secretId } }, RootPKIPath: 'approle-root', IntermediatePKIPath: 'approle-int' });
    const chain = await p.generateRoot();
    assert.equal(p.tokenStats.logins, 1);
    await waitFor('two renewals of the AppRole token', () => p.tokenStats.renewals >= 2, { timeoutMs: 20_000, intervalMs: 100 });
    assert.ok(Date.now() - loggedInAt > 3000, 'past the 3s the login granted');
    const v = opensslVerify(await rootPemOf('approle-root'), certPem(await p.sign(await makeCsr([WEB]), { ttlMs: HOUR })), certPem(chain.intermediates[0] as Uint8Array));
    assert.ok(v.ok, v.output);

    const bad = await new VaultProvider({ clock: systemClock, logger: nullLogger })
      .configure(providerConfig({ AuthMethod: { Type: 'approle', Params: { role_id: roleId, secret_id: 'wrong' } }, IntermediatePKIPath: 'approle-int' }, false))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(bad instanceof ValidationError, String(bad));
    assert.match(bad.message, /Config\.AuthMethod: vault CA provider: POST .*auth\/approle\/login: Vault answered 400: invalid (role or )?secret ID/i);
  });

  it('renews a configured token that has a TTL (Vault records the renewal)', async () => {
    const created = await bao.ok('POST', 'auth/token/create', { ttl: '3s', explicit_max_ttl: '10m', renewable: true, policies: ['connect-ca'] });
    const token = String(created.auth?.client_token);
    const p = await configured({ Token: token, RootPKIPath: 'renew-root', IntermediatePKIPath: 'renew-int' });
    await waitFor('Vault to record a renewal of the token', async () => (await bao.ok('POST', 'auth/token/lookup', { token })).data?.last_renewal_time, { timeoutMs: 20_000, intervalMs: 200 });
    await waitFor('a second renewal', () => p.tokenStats.renewals >= 2, { timeoutMs: 20_000, intervalMs: 100 });
    await p.generateRoot();
  });

  it("as a secondary, keeps its intermediate in Vault: the CSR is made there, passes the primary's checks, and the signed certificate is set back", async () => {
    const p = await configured({ Token: bao.rootToken, IntermediatePKIPath: 'dc2-int' }, false);
    const { csr, opaque } = await p.generateIntermediateCsr();
    assert.equal((await mounts())['dc2-int/']?.type, 'pki');
    // The primary (built-in here) validates the CSR as it would one sent over the WAN, then signs it.
    validateIntermediateCsr(toPem('CERTIFICATE REQUEST', csr), TRUST_DOMAIN);
    const primary = new BuiltinProvider(systemClock);
    await primary.configure({ clusterId: CLUSTER, isPrimary: true, datacenter: 'dc1', rawConfig: {} });
    const root = (await primary.generateRoot()).root;
    const intermediate = await primary.signIntermediate(csr);
    await p.setIntermediate(intermediate, root, opaque);
    assert.deepEqual(await p.activeLeafSigningCert(), intermediate);
    const leaf = await p.sign(await makeCsr([`spiffe://${TRUST_DOMAIN}/ns/default/dc/dc2/svc/api`]), { ttlMs: HOUR });
    const v = opensslVerify(certPem(root), certPem(leaf), certPem(intermediate));
    assert.ok(v.ok, v.output);
    assert.ok(((await bao.ok('LIST', 'dc2-int/certs')).data?.keys as string[]).length >= 1);
    await assert.rejects(p.generateRoot(), /a secondary datacenter's CA makes no root/);
  });

  it("signs a secondary's intermediate with the root mount, and cross-signs another CA's root", async () => {
    const p = await configured({ Token: bao.rootToken, RootPKIPath: 'fed-root', IntermediatePKIPath: 'fed-int' });
    await p.generateRoot();
    const rootPem = await rootPemOf('fed-root');

    // A secondary (the built-in provider) asks for an intermediate; the Vault primary signs it.
    const secondary = new BuiltinProvider(systemClock);
    await secondary.configure({ clusterId: CLUSTER, isPrimary: false, datacenter: 'dc2', rawConfig: {} });
    const { csr, opaque } = await secondary.generateIntermediateCsr();
    const signed = await p.signIntermediate(csr);
    const text = opensslText(certPem(signed));
    assert.match(text, /CA:TRUE, pathlen:0/);
    const vi = opensslVerify(rootPem, certPem(signed));
    assert.ok(vi.ok, vi.output);
    await secondary.setIntermediate(signed, new Uint8Array(new X509Certificate(rootPem).raw), opaque);
    const leaf = await secondary.sign(await makeCsr([`spiffe://${TRUST_DOMAIN}/ns/default/dc/dc2/svc/api`]), { ttlMs: HOUR });
    const vl = opensslVerify(rootPem, certPem(leaf), certPem(signed));
    assert.ok(vl.ok, vl.output);

    // Cross-signing: the other root's subject and key, issued by Vault's root.
    assert.equal(await p.supportsCrossSigning(), true);
    const other = new BuiltinProvider(systemClock);
    await other.configure({ clusterId: CLUSTER, isPrimary: true, datacenter: 'dc1', rawConfig: {} });
    const otherRoot = (await other.generateRoot()).root;
    const cross = new X509Certificate(await p.crossSignCA(otherRoot));
    const o = new X509Certificate(otherRoot);
    assert.equal(cross.subject, o.subject);
    assert.ok(cross.publicKey.equals(o.publicKey));
    assert.ok(cross.verify(new X509Certificate(rootPem).publicKey), 'issued by the root Vault holds');
    const otherLeaf = certPem(await other.sign(await makeCsr([WEB]), { ttlMs: HOUR }));
    const vx = opensslVerify(rootPem, otherLeaf, certPem(new Uint8Array(cross.raw)));
    assert.ok(vx.ok, `a leaf of the other root verifies against Vault's root through the cross-signed cert: ${vx.output}`);
  });
});

describe('Vault CA provider over TLS (a real OpenBao with -dev-tls)', () => {
  let tlsBao: OpenBaoProcess;
  before(async () => {
    tlsBao = await OpenBaoProcess.start({ tls: true });
  });
  after(() => tlsBao?.stop());

  const over = (tls: Record<string, unknown>, paths: string) => {
    const config = parseCAConfigRequest({ Provider: 'vault', Config: { Address: tlsBao.address, Token: tlsBao.rootToken, RootPKIPath: `${paths}-root`, IntermediatePKIPath: `${paths}-int`, ...tls } }).config.Config;
    return { clusterId: CLUSTER, isPrimary: true, datacenter: 'dc1', rawConfig: { ...config } };
  };
  const tryConfigure = async (tls: Record<string, unknown>, paths: string): Promise<unknown> => {
    const p = new VaultProvider({ clock: systemClock, logger: nullLogger });
    open.push(p);
    try {
      await p.configure(over(tls, paths));
      await p.generateRoot();
      return undefined;
    } catch (err) {
      return err;
    }
  };

  it('trusts the server through CAFile or CAPath, checks its name (TLSServerName), and refuses an unknown CA unless TLSSkipVerify', async () => {
    const files = tlsBao.tlsFiles as NonNullable<OpenBaoProcess['tlsFiles']>;
    assert.equal(await tryConfigure({ CAFile: files.caFile }, 'cafile'), undefined);
    assert.equal(await tryConfigure({ CAPath: files.dir }, 'capath'), undefined);
    assert.equal(await tryConfigure({ CAFile: files.caFile, TLSServerName: 'localhost' }, 'sni'), undefined);
    assert.equal(await tryConfigure({ TLSSkipVerify: true }, 'skip'), undefined);
    // A client certificate is presented when given (this dev server does not ask for one).
    assert.equal(await tryConfigure({ CAFile: files.caFile, CertFile: files.certFile, KeyFile: files.keyFile }, 'client'), undefined);

    const unknownCa = await tryConfigure({}, 'noca');
    assert.match(String(unknownCa), /vault CA provider: GET https:\/\/127\.0\.0\.1:\d+\/v1\/auth\/token\/lookup-self: no answer: .*(self[- ]signed|unable to verify|local issuer)/i);
    const wrongName = await tryConfigure({ CAFile: files.caFile, TLSServerName: 'vault.example.com' }, 'badsni');
    assert.match(String(wrongName), /vault CA provider: .*no answer: .*(altnames|does not match)/i);
    const missing = await tryConfigure({ CAFile: '/nonexistent/ca.pem' }, 'missing');
    assert.ok(missing instanceof ValidationError, String(missing));
    assert.match(missing.message, /Config\.CAFile: cannot be read: ENOENT/);
    const m = (await tlsBao.ok('GET', 'sys/mounts')).data as Record<string, unknown>;
    assert.ok(m['cafile-root/'] && m['skip-int/']);
    assert.equal(m['noca-root/'], undefined);
  });
});
