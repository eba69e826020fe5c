// The agent's CA switched to Vault over the HTTP API (PUT /v1/connect/ca/configuration with
// Provider "vault"), against a real OpenBao: the new root is the one Vault holds, cross-signed
// by the built-in root it replaces, leaves are signed by Vault's intermediate mount, and a
// restart on the same data dir keeps signing through Vault.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { OpenBaoProcess } from '../support/openbao.js';
import { opensslVerify, splitPem } from './support.js';
import type { CARoot as Root, CARoots as Roots, LeafCert as Leaf } from '../../src/ca/types.js';


let bao: OpenBaoProcess;
before(async () => {
  bao = await OpenBaoProcess.start();
});
after(() => bao?.stop());

const vault = (over: Record<string, unknown> = {}) => ({
  Provider: 'vault',
  Config: { Address: bao.address, Token: bao.rootToken, RootPKIPath: 'connect-root', IntermediatePKIPath: 'connect-intermediate', LeafCertTTL: '72h', ...over },
});

async function vaultRoot(path: string): Promise<string> {
  return bao.text(`${path}/ca/pem`);
}

async function issuedByVault(path: string, serialColonHex: string): Promise<boolean> {
  const keys = ((await bao.ok('LIST', `${path}/certs`)).data?.keys as string[]) ?? [];
  return keys.includes(serialColonHex);
}

describe('the agent CA on Vault', () => {
  it('switches from the built-in provider to Vault, and issues leaves through Vault that verify against the root Vault holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-ca-vault-'));
    let agent = await TestAgent.start({ dataDir: dir });
    try {
      const oldLeaf = (await agent.get('/v1/agent/connect/ca/leaf/web')).json as Leaf;
      const oldRoots = (await agent.get('/v1/connect/ca/roots')).json as Roots;

      const put = await agent.put('/v1/connect/ca/configuration', vault());
      assert.equal(put.status, 200, put.text);
      const config = (await agent.get('/v1/connect/ca/configuration')).json as { Provider: string; Config: Record<string, unknown> };
      assert.equal(config.Provider, 'vault');
      assert.equal(config.Config.RootPKIPath, 'connect-root');
      assert.equal(config.Config.Token, undefined, 'the token is write-only');
      assert.doesNotMatch((await agent.get('/v1/connect/ca/configuration')).text, new RegExp(bao.rootToken));

      const mounts = (await bao.ok('GET', 'sys/mounts')).data as Record<string, { type: string }>;
      assert.equal(mounts['connect-root/']?.type, 'pki');
      assert.equal(mounts['connect-intermediate/']?.type, 'pki');

      // The active root is Vault's; the built-in one stays published (inactive) for its leaves.
      const roots = (await agent.get('/v1/connect/ca/roots')).json as Roots;
      const rootPem = await vaultRoot('connect-root');
      const active = roots.Roots.find((r) => r.Active) as Root;
      assert.equal(new X509Certificate(active.RootCert).fingerprint256, new X509Certificate(rootPem).fingerprint256);
      assert.ok(roots.Roots.some((r) => r.ID === oldRoots.ActiveRootID && !r.Active), 'the built-in root is still published');
      const oldRootPem = oldRoots.Roots[0]?.RootCert as string;
      const crossSigned = active.IntermediateCerts.map((p) => new X509Certificate(p)).find((c) => c.subject === new X509Certificate(rootPem).subject && c.verify(new X509Certificate(oldRootPem).publicKey));
      assert.ok(crossSigned, "Vault's root cross-signed by the built-in root is among the intermediates");

      // A new leaf comes from Vault's intermediate mount.
      const leaf = (await agent.get('/v1/agent/connect/ca/leaf/api')).json as Leaf;
      const [leafPem, ...chain] = splitPem(leaf.CertPEM);
      const v = opensslVerify(rootPem, leafPem as string, chain.join(''));
      assert.ok(v.ok, `the leaf verifies against Vault's root alone: ${v.output}`);
      assert.equal(new X509Certificate(leafPem as string).subjectAltName, `URI:${leaf.ServiceURI}`);
      assert.ok(await issuedByVault('connect-intermediate', leaf.SerialNumber), `Vault lists the leaf ${leaf.SerialNumber}`);

      // The built-in provider's leaf still verifies against the published roots.
      const published = (await agent.get('/v1/connect/ca/roots?pem=true')).text;
      const old = opensslVerify(published, oldLeaf.CertPEM);
      assert.ok(old.ok, old.output);

      // A restart resumes the Vault provider from the data dir and keeps signing through Vault.
      await agent.agent.close();
      agent = await TestAgent.start({ dataDir: dir });
      assert.equal(((await agent.get('/v1/connect/ca/roots')).json as Roots).ActiveRootID, roots.ActiveRootID);
      const after = (await agent.get('/v1/agent/connect/ca/leaf/db')).json as Leaf;
      const [afterPem, ...afterChain] = splitPem(after.CertPEM);
      const va = opensslVerify(rootPem, afterPem as string, afterChain.join(''));
      assert.ok(va.ok, va.output);
      assert.ok(await issuedByVault('connect-intermediate', after.SerialNumber));

      // Sending the configuration back (a read-modify-write) changes nothing.
      const again = await agent.put('/v1/connect/ca/configuration', vault());
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(((await agent.get('/v1/connect/ca/roots')).json as Roots).Roots.length, roots.Roots.length);
    } finally {
      await agent.agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a wrong token with a 400 carrying Vault's message, and changes nothing", async () => {
    const agent = await TestAgent.start();
    try {
      const before = { roots: (await agent.get('/v1/connect/ca/roots')).json, config: (await agent.get('/v1/connect/ca/configuration')).json };
      const r = await agent.put('/v1/connect/ca/configuration', vault({ Token: 'not-a-token', RootPKIPath: 'wrong-root', IntermediatePKIPath: 'wrong-int' }));
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, /Config\.Token: vault CA provider: GET http:\/\/127\.0\.0\.1:\d+\/v1\/auth\/token\/lookup-self: Vault answered 403: permission denied/);
      assert.deepEqual({ roots: (await agent.get('/v1/connect/ca/roots')).json, config: (await agent.get('/v1/connect/ca/configuration')).json }, before);
      const mounts = (await bao.ok('GET', 'sys/mounts')).data as Record<string, unknown>;
      assert.equal(mounts['wrong-root/'], undefined);
    } finally {
      await agent.agent.close();
    }
  });

  it('a new token for the same mounts keeps the root; switching back to the built-in provider has Vault cross-sign the new root', async () => {
    const agent = await TestAgent.start();
    try {
      const paths = { RootPKIPath: 'back-root', IntermediatePKIPath: 'back-int' };
      const newToken = async () => String((await bao.ok('POST', 'auth/token/create', { policies: ['root'], ttl: '1h' })).auth?.client_token);
      const first = await newToken();
      assert.equal((await agent.put('/v1/connect/ca/configuration', vault({ ...paths, Token: first }))).status, 200);
      const onVault = (await agent.get('/v1/connect/ca/roots')).json as Roots;
      const vaultRootPem = await vaultRoot('back-root');

      const swap = await agent.put('/v1/connect/ca/configuration', vault({ ...paths, Token: await newToken() }));
      assert.equal(swap.status, 200, swap.text);
      const afterSwap = (await agent.get('/v1/connect/ca/roots')).json as Roots;
      assert.equal(afterSwap.ActiveRootID, onVault.ActiveRootID, 'no rotation for a new token');
      assert.equal(afterSwap.Roots.length, onVault.Roots.length);
      // The first token is gone: leaves are signed with the new one.
      await bao.ok('POST', 'auth/token/revoke', { token: first });
      assert.ok(await issuedByVault('back-int', ((await agent.get('/v1/agent/connect/ca/leaf/cache')).json as Leaf).SerialNumber));

      // Another intermediate mount under the same root: the root is kept, the old mount goes.
      const moved = await agent.put('/v1/connect/ca/configuration', vault({ RootPKIPath: 'back-root', IntermediatePKIPath: 'back-int2' }));
      assert.equal(moved.status, 200, moved.text);
      const afterMove = (await agent.get('/v1/connect/ca/roots')).json as Roots;
      assert.equal(afterMove.ActiveRootID, onVault.ActiveRootID, 'the same root, found again in back-root');
      assert.equal(afterMove.Roots.length, onVault.Roots.length, 'no root added');
      const crossOf = (r: Roots) => (r.Roots.find((x) => x.Active) as Root).IntermediateCerts.filter((p) => new X509Certificate(p).subject === new X509Certificate(vaultRootPem).subject);
      assert.equal(crossOf(onVault).length, 1, 'the switch from the built-in provider cross-signed the Vault root');
      assert.deepEqual(crossOf(afterMove), crossOf(onVault), 'and the cross-signed certificate is still published');
      const vaultLeaf = (await agent.get('/v1/agent/connect/ca/leaf/moved')).json as Leaf;
      assert.ok(await issuedByVault('back-int2', vaultLeaf.SerialNumber), 'signed by the new intermediate mount');
      assert.equal(((await bao.ok('GET', 'sys/mounts')).data as Record<string, unknown>)['back-int/'], undefined, 'the old intermediate mount is removed');
      const [movedPem, ...movedChain] = splitPem(vaultLeaf.CertPEM);
      const vm = opensslVerify(vaultRootPem, movedPem as string, movedChain.join(''));
      assert.ok(vm.ok, vm.output);

      const back = await agent.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: {} });
      assert.equal(back.status, 200, back.text);
      const roots = (await agent.get('/v1/connect/ca/roots')).json as Roots;
      const active = roots.Roots.find((r) => r.Active) as Root;
      assert.notEqual(active.ID, onVault.ActiveRootID);
      const cross = active.IntermediateCerts.map((p) => new X509Certificate(p)).find((c) => c.verify(new X509Certificate(vaultRootPem).publicKey));
      assert.ok(cross, "the built-in root cross-signed by Vault's root is published");
      assert.equal(cross.subject, new X509Certificate(active.RootCert).subject);
      // The Vault leaf still verifies; the intermediate mount Switchyard made is gone.
      const [vaultLeafPem, ...vaultChain] = splitPem(vaultLeaf.CertPEM);
      const v = opensslVerify((await agent.get('/v1/connect/ca/roots?pem=true')).text, vaultLeafPem as string, vaultChain.join(''));
      assert.ok(v.ok, v.output);
      const mounts = (await bao.ok('GET', 'sys/mounts')).data as Record<string, unknown>;
      assert.equal(mounts['back-int2/'], undefined, 'the intermediate mount is removed');
      assert.ok(mounts['back-root/'], 'the root mount is kept');
    } finally {
      await agent.agent.close();
    }
  });

  it('an agent restarted after its Vault token was revoked still starts, answers why it cannot sign, and a new token restores signing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-ca-vault-revoked-'));
    const paths = { RootPKIPath: 'revoked-root', IntermediatePKIPath: 'revoked-int' };
    const newToken = async () => String((await bao.ok('POST', 'auth/token/create', { policies: ['root'], ttl: '1h' })).auth?.client_token);
    let agent = await TestAgent.start({ dataDir: dir });
    try {
      const first = await newToken();
      assert.equal((await agent.put('/v1/connect/ca/configuration', vault({ ...paths, Token: first }))).status, 200);
      const roots = (await agent.get('/v1/connect/ca/roots')).json as Roots;
      await agent.agent.close();
      await bao.ok('POST', 'auth/token/revoke', { token: first });

      agent = await TestAgent.start({ dataDir: dir });
      assert.equal(((await agent.get('/v1/connect/ca/roots')).json as Roots).ActiveRootID, roots.ActiveRootID, 'the roots are served');
      const refused = await agent.get('/v1/agent/connect/ca/leaf/web');
      assert.ok(refused.status >= 500, `${refused.status} ${refused.text}`);
      assert.match(refused.text, /vault CA provider: .*Vault answered 403: permission denied/);

      const fixed = await agent.put('/v1/connect/ca/configuration', vault({ ...paths, Token: await newToken() }));
      assert.equal(fixed.status, 200, fixed.text);
      const signed = await agent.get('/v1/agent/connect/ca/leaf/web');
      assert.equal(signed.status, 200, `the leaf after the new token: ${signed.status} ${signed.text}`);
      const leaf = signed.json as Leaf;
      const listed = ((await bao.ok('LIST', 'revoked-int/certs')).data?.keys as string[]) ?? [];
      assert.ok(listed.includes(leaf.SerialNumber), `leaf ${leaf.SerialNumber} (issuer ${new X509Certificate(leaf.CertPEM).issuer}) is not among revoked-int's certificates ${JSON.stringify(listed)}`);
      assert.equal(((await agent.get('/v1/connect/ca/roots')).json as Roots).ActiveRootID, roots.ActiveRootID, 'no rotation');
    } finally {
      await agent.agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
