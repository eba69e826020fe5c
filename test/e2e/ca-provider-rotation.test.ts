// End to end: the CA switched between providers under real traffic. A real agent process, real
// Envoy sidecars (client -> server, mutual TLS, a fresh connection and handshake per call), a call
// loop running from the first switch to the last; the CA goes built-in -> Vault (a real OpenBao)
// -> the Go example plugin -> the TypeScript plugin -> built-in, each through
// PUT /v1/connect/ca/configuration. At every switch: both roots published, the new one active and
// cross-signed by the old provider (checked with openssl against the old root), the leaves issued
// under the old root still verifying against the published bundle, every sidecar serving (in its
// SDS secret) a leaf under the new root within the re-issue window, and no failed call. Then a
// provider that cannot cross-sign: switching to it is allowed (the old one cross-signs), switching
// away is refused with 409 and changes nothing, and a forced switch (back to the root Vault kept)
// keeps traffic flowing.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { opensslVerify, splitPem } from '../ca/support.js';
import { AgentProcess } from '../support/agent-process.js';
import { call, CallLoop, startNamedHttpServer, type NamedServer } from '../support/apps.js';
import { goPlugin, noCrossSignPlugin, pluginProcesses, tsPlugin, type PluginBinary } from '../support/ca-plugins.js';
import { EnvoyProcess } from '../support/envoy.js';
import { OpenBaoProcess } from '../support/openbao.js';
import { freePort, waitFor } from '../support/wait.js';
import type { CARoot as Root, CARoots as Roots } from '../../src/ca/types.js';

/** The agent's leaf_reissue_jitter: leaves are re-issued within this long of a root change. */
const JITTER_MS = 3000;
/** What a re-issued leaf may take on top of its jitter: the CSR, the snapshot, the SDS push. */
const PUSH_SLACK_MS = 7000;

interface SecretsDump {
  configs: { name: string; secret: { tls_certificate?: { certificate_chain: { inline_string: string } }; validation_context?: { trusted_ca: { inline_string: string } } } }[];
}

/** The leaf chain and the trust bundle an Envoy holds (its active SDS secrets). */
async function served(envoy: EnvoyProcess): Promise<{ chain: string; trusted: string }> {
  const dump = await envoy.adminJson<SecretsDump>('/config_dump?resource=dynamic_active_secrets');
  const chain = dump.configs.map((c) => c.secret.tls_certificate?.certificate_chain.inline_string).find((s) => s !== undefined);
  const trusted = dump.configs.map((c) => c.secret.validation_context?.trusted_ca.inline_string).find((s) => s !== undefined);
  if (chain === undefined || trusted === undefined) throw new Error(`the sidecar holds no leaf or no trust bundle yet: ${JSON.stringify(dump.configs.map((c) => c.name))}`);
  return { chain, trusted };
}

/** Whether a leaf chain (leaf first, then intermediates) verifies against `rootsPem`. */
function verifies(rootsPem: string, chain: string): boolean {
  const [leaf, ...rest] = splitPem(chain);
  return leaf !== undefined && opensslVerify(rootsPem, leaf, rest.join('')).ok;
}

const spki = (pem: string): Buffer => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('switching CA providers under real Envoy sidecars passing traffic', { concurrency: false }, () => {
  let bao: OpenBaoProcess;
  let go: PluginBinary;
  let ts: PluginBinary;
  let noCrossSign: PluginBinary;
  let agent: AgentProcess;
  let app: NamedServer;
  let upstreamPort: number;
  let loop: CallLoop;
  const envoys: EnvoyProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sy-ca-rotation-'));

  const roots = () => agent.api.get<Roots>('/v1/connect/ca/roots');
  const putConfig = async (body: unknown) => {
    const res = await fetch(`http://${agent.httpAddr}/v1/connect/ca/configuration`, { method: 'PUT', body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  /** The agent's plugin processes running `p` (other test files may run the same plugins). */
  const running = (p: PluginBinary) => pluginProcesses(p.runs, agent.pid);
  const failures = () => `${loop.failures().length} of ${loop.results.length} calls failed: ${JSON.stringify(loop.failures().slice(0, 5))}`;

  before(async () => {
    [bao, go] = await Promise.all([OpenBaoProcess.start(), goPlugin()]);
    ts = tsPlugin(dir);
    noCrossSign = noCrossSignPlugin(dir);
    const configFile = join(dir, 'agent.json');
    writeFileSync(configFile, JSON.stringify({ leaf_reissue_jitter: `${JITTER_MS / 1000}s` }));
    agent = await AgentProcess.start({ extraArgs: ['-config-file', configFile] });
    app = await startNamedHttpServer('server-1');
    await agent.api.put('/v1/agent/service/register', { ID: 'server', Name: 'server', Port: app.port, Address: '127.0.0.1', Connect: { SidecarService: { Port: await freePort() } } });
    upstreamPort = await freePort();
    await agent.api.put('/v1/agent/service/register', {
      ID: 'client',
      Name: 'client',
      Port: await freePort(),
      Connect: { SidecarService: { Port: await freePort(), Proxy: { Upstreams: [{ DestinationName: 'server', LocalBindPort: upstreamPort }] } } },
    });
    for (const id of ['server', 'client']) envoys.push(await EnvoyProcess.start(agent.bootstrapFor(id), { logLevel: 'warn' }));
    await waitFor('a call through the mesh', async () => {
      const r = await call(upstreamPort);
      return r.ok && r.body === 'server-1';
    }, { timeoutMs: 30_000 });
    loop = new CallLoop(upstreamPort);
  });

  after(async () => {
    await loop?.stop();
    for (const e of envoys) await e.stop();
    await app?.close();
    await agent?.dispose();
    await bao?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every sidecar serves a leaf under `rootPem`, within the re-issue window; answers how long that took. */
  async function sidecarsReissued(rootPem: string, since: number): Promise<number> {
    await waitFor('every sidecar to serve a leaf issued under the new root', async () => {
      const now = await Promise.all(envoys.map(served));
      return now.every((s) => verifies(rootPem, s.chain));
    }, { timeoutMs: JITTER_MS + PUSH_SLACK_MS, intervalMs: 200 });
    return Date.now() - since;
  }

  /** Calls keep being made (and answered) after a switch: the loop is still running. */
  async function callsContinue(): Promise<void> {
    const n = loop.results.length;
    await waitFor('more calls through the mesh', () => loop.results.length >= n + 5, { timeoutMs: 10_000 });
    assert.deepEqual(loop.failures(), [], failures());
  }

  /**
   * Switches the CA with `body` and checks everything a rotation with cross-signing promises;
   * answers the new active root.
   */
  async function rotate(body: Record<string, unknown>): Promise<Root> {
    const before = await roots();
    const oldRoot = before.Roots.find((r) => r.ID === before.ActiveRootID) as Root;
    const oldServed = await Promise.all(envoys.map(served));
    assert.ok(oldServed.every((s) => verifies(oldRoot.RootCert, s.chain)), 'before the switch, every sidecar serves a leaf under the old root');

    const started = Date.now();
    const put = await putConfig(body);
    assert.equal(put.status, 200, put.text);

    const now = await roots();
    const newRoot = now.Roots.find((r) => r.ID === now.ActiveRootID) as Root;
    assert.notEqual(now.ActiveRootID, before.ActiveRootID, 'a new root is active');
    assert.equal(now.Roots.filter((r) => r.Active).length, 1, 'exactly one root is active');
    assert.ok(now.Roots.some((r) => r.ID === oldRoot.ID && !r.Active), 'the old root is still published, inactive');

    // The old provider cross-signed the new root: the new root's key, issued by the old root.
    const crossSigned = newRoot.IntermediateCerts.filter((pem) => spki(pem).equals(spki(newRoot.RootCert)) && fingerprint(pem) !== fingerprint(newRoot.RootCert));
    assert.equal(crossSigned.length, 1, `one certificate for the new root's key among its intermediates (${newRoot.IntermediateCerts.length})`);
    const xs = crossSigned[0] as string;
    assert.equal(new X509Certificate(xs).subject, new X509Certificate(newRoot.RootCert).subject, 'the cross-signed certificate names the new root');
    const byOld = opensslVerify(oldRoot.RootCert, xs);
    assert.ok(byOld.ok, `the cross-signed certificate verifies against the OLD root with openssl: ${byOld.output}`);
    assert.equal(opensslVerify(newRoot.RootCert, xs).ok, false, 'it is issued by the old root, not by the new one');

    // Leaves issued under the old root (the ones the sidecars were serving) still verify.
    const bundle = now.Roots.map((r) => r.RootCert).join('');
    for (const s of oldServed) assert.ok(verifies(bundle, s.chain), 'a leaf issued under the old root verifies against the published roots');

    const took = await sidecarsReissued(newRoot.RootCert, started);
    assert.ok(took <= JITTER_MS + PUSH_SLACK_MS, `re-issued in ${took} ms`);
    const reissued = await Promise.all(envoys.map(served));
    // What cross-signing is for: a peer that trusts only the old root accepts the new leaves,
    // through the cross-signed certificate the sidecar sends with them.
    for (const s of reissued) assert.ok(verifies(oldRoot.RootCert, s.chain), 'a re-issued leaf, with the chain the sidecar sends, verifies against the old root alone');
    // The sidecars trust both roots: peers still on a leaf of either side connect.
    for (const s of reissued) {
      const trusted = splitPem(s.trusted).map(fingerprint);
      assert.ok(trusted.includes(fingerprint(oldRoot.RootCert)) && trusted.includes(fingerprint(newRoot.RootCert)), 'the sidecar trusts the old and the new root');
    }
    await callsContinue();
    return newRoot;
  }

  const vault = () => ({ Provider: 'vault', Config: { Address: bao.address, Token: bao.rootToken, RootPKIPath: 'connect-root', IntermediatePKIPath: 'connect-intermediate' } });
  const plugin = (p: PluginBinary) => ({ Provider: 'plugin', Config: { plugin_cmd: p.cmd, plugin_checksum: p.sha256 } });

  let vaultRoot: Root;

  it('built-in -> Vault: the new root is the one OpenBao holds, cross-signed by the built-in root', async () => {
    vaultRoot = await rotate(vault());
    assert.equal(fingerprint(vaultRoot.RootCert), fingerprint(await bao.text('connect-root/ca/pem')), "the active root is Vault's");
  });

  it('Vault -> the Go plugin: cross-signed by Vault (root/sign-self-issued); the intermediate mount is released', async () => {
    await rotate(plugin(go));
    assert.equal(running(go).length, 1, 'the Go plugin runs');
    const mounts = (await bao.ok('GET', 'sys/mounts')).data as Record<string, unknown>;
    assert.equal(mounts['connect-intermediate/'], undefined, 'the intermediate mount Vault no longer uses is unmounted');
    assert.ok(mounts['connect-root/'], "the root mount is the operator's and stays");
  });

  it('the Go plugin -> the TypeScript plugin: cross-signed by the Go plugin, whose process then exits', async () => {
    await rotate(plugin(ts));
    assert.equal(running(ts).length, 1, 'the TypeScript plugin runs');
    await waitFor('the Go plugin process to exit', () => running(go).length === 0, { timeoutMs: 10_000 });
  });

  it('the TypeScript plugin -> built-in: cross-signed by the plugin', async () => {
    await rotate({ Provider: 'consul', Config: {} });
    await waitFor('the TypeScript plugin process to exit', () => running(ts).length === 0, { timeoutMs: 10_000 });
  });

  let stuck: Root;

  it('to a provider that cannot cross-sign: allowed, since the provider it replaces cross-signs (Consul asks the old one)', async () => {
    stuck = await rotate(plugin(noCrossSign));
  });

  it('away from it: 409 unless forced, and the refusal changes nothing (roots, configuration, Vault)', async () => {
    const before = await roots();
    const configBefore = await agent.api.get('/v1/connect/ca/configuration');
    for (const body of [vault(), { Provider: 'consul', Config: {} }]) {
      const refused = await putConfig(body);
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.text, /cannot cross-sign/);
      assert.match(refused.text, /ForceWithoutCrossSigning/);
    }
    assert.deepEqual(await roots(), before, 'a refused switch publishes no root');
    assert.deepEqual(await agent.api.get('/v1/connect/ca/configuration'), configBefore, 'a refused switch keeps the configuration');
    const mounts = (await bao.ok('GET', 'sys/mounts')).data as Record<string, unknown>;
    assert.equal(mounts['connect-intermediate/'], undefined, 'the intermediate mount the refused Vault provider made is released again');
    assert.equal(running(noCrossSign).length, 1, 'the provider in force keeps running');
    assert.deepEqual(loop.failures(), [], failures());
  });

  it('forced back to Vault: the root Vault kept is active again, listed once, and traffic keeps flowing', async () => {
    const oldServed = await Promise.all(envoys.map(served));
    const started = Date.now();
    const forced = await putConfig({ ...vault(), ForceWithoutCrossSigning: true });
    assert.equal(forced.status, 200, forced.text);
    const now = await roots();
    const newRoot = now.Roots.find((r) => r.ID === now.ActiveRootID) as Root;
    assert.equal(newRoot.ID, vaultRoot.ID, 'the root in the Vault mount, published since the first switch, is active again');
    assert.deepEqual(now.Roots.map((r) => r.ID).sort(), [...new Set(now.Roots.map((r) => r.ID))].sort(), 'one record per root');
    assert.deepEqual(newRoot.IntermediateCerts.filter((pem) => spki(pem).equals(spki(newRoot.RootCert))), [], 'nothing cross-signed the new root');
    assert.ok(now.Roots.some((r) => r.ID === stuck.ID && !r.Active), 'the old root stays published, so its leaves stay valid');
    const bundle = now.Roots.map((r) => r.RootCert).join('');
    for (const s of oldServed) assert.ok(verifies(bundle, s.chain), 'a leaf issued under the old root verifies against the published roots');
    const took = await sidecarsReissued(newRoot.RootCert, started);
    assert.ok(took <= JITTER_MS + PUSH_SLACK_MS, `re-issued in ${took} ms`);
    for (const s of await Promise.all(envoys.map(served))) assert.equal(verifies(stuck.RootCert, s.chain), false, 'without cross-signing, a new leaf does not chain to the old root');
    await callsContinue();
    await waitFor('the plugin process to exit', () => running(noCrossSign).length === 0, { timeoutMs: 10_000 });
  });
});
