import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { goPlugin, pluginProcesses, type PluginBinary } from '../support/ca-plugins.js';
import { opensslText, opensslVerify, splitPem } from '../ca/support.js';

// PUT /v1/connect/ca/configuration with Provider "plugin" (SPIRE's plugin_cmd, plugin_checksum,
// plugin_data): a bad body is a 400 naming the field that changes nothing and leaves no plugin
// process behind; a good one rotates the root to the plugin's, cross-signed by the old one.

let a: TestAgent;
let go: PluginBinary;
before(async () => {
  go = await goPlugin();
  a = await TestAgent.start();
});
after(() => a.close());

async function state() {
  return { roots: (await a.get('/v1/connect/ca/roots')).json, config: (await a.get('/v1/connect/ca/configuration')).json };
}

async function refused(body: unknown, ...patterns: RegExp[]): Promise<void> {
  const was = await state();
  const r = await a.put('/v1/connect/ca/configuration', body);
  assert.equal(r.status, 400, `${JSON.stringify(body)} answered ${r.status}: ${r.text}`);
  for (const p of patterns) assert.match(r.text, p, JSON.stringify(body));
  assert.deepEqual(await state(), was, `${JSON.stringify(body)} changed the CA`);
  assert.deepEqual(pluginProcesses(go.cmd), [], 'a refused configuration left a plugin process running');
}

describe('PUT /v1/connect/ca/configuration with Provider "plugin"', () => {
  it('refuses bad plugin settings, naming each field', async () => {
    await refused({ Provider: 'plugin', Config: {} }, /Config\.plugin_cmd: is required/);
    await refused({ Provider: 'plugin', Config: { plugin_cmd: '' } }, /Config\.plugin_cmd: must not be empty/);
    await refused({ Provider: 'plugin', Config: { plugin_cmd: 7 } }, /Config\.plugin_cmd: must be a string/);
    await refused({ Provider: 'plugin', Config: { plugin_cmd: go.cmd, plugin_checksum: 'abc' } }, /Config\.plugin_checksum: must be the sha256/);
    await refused({ Provider: 'plugin', Config: { plugin_cmd: go.cmd, plugin_data: 'x' } }, /Config\.plugin_data: must be an object/);
    await refused({ Provider: 'plugin', Config: { plugin_cmd: go.cmd, pluginCmd: 'x' } }, /Config\.pluginCmd: unknown field.*"plugin_cmd"/);
    await refused({ Provider: 'plugin', Config: { plugin_cmd: go.cmd, LeafCertTTL: '1m' } }, /Config\.LeafCertTTL: must be at least 1h/);
    await refused({ Provider: 'consul', Config: { plugin_cmd: go.cmd } }, /Config\.plugin_cmd: unknown field \(it is a setting of Provider "plugin"\)/);
    await refused({ Provider: 'vault-ish', Config: {} }, /Provider: "vault-ish" is not supported/);
  });

  it('refuses a binary that cannot be run or fails its checksum, and starts nothing', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'sy-noplugin-')), 'nothing-here');
    await refused({ Provider: 'plugin', Config: { plugin_cmd: missing } }, /Config\.plugin_cmd: .*nothing-here cannot be run: ENOENT/);
    const wrong = '0'.repeat(64);
    await refused({ Provider: 'plugin', Config: { plugin_cmd: go.cmd, plugin_checksum: wrong } }, new RegExp(`Config\\.plugin_checksum: .*has sha256 ${go.sha256}, not the configured plugin_checksum ${wrong}; refusing to start it`));
  });

  it('rotates to the plugin\'s root, cross-signed by the built-in one, and signs leaves with it', async () => {
    const before = (await a.get('/v1/connect/ca/roots')).json as { ActiveRootID: string; Roots: { ID: string; RootCert: string }[] };
    const oldRoot = before.Roots.find((r) => r.ID === before.ActiveRootID)?.RootCert as string;
    const body = { Provider: 'plugin', Config: { plugin_cmd: go.cmd, plugin_checksum: go.sha256.toUpperCase(), plugin_data: { note: 'example' }, LeafCertTTL: '24h' } };
    const r = await a.put('/v1/connect/ca/configuration', body);
    assert.equal(r.status, 200, r.text);
    const config = (await a.get('/v1/connect/ca/configuration')).json as { Provider: string; Config: Record<string, unknown> };
    assert.equal(config.Provider, 'plugin');
    assert.equal(config.Config.plugin_cmd, go.cmd);
    assert.equal(config.Config.plugin_checksum, go.sha256);
    assert.deepEqual(config.Config.plugin_data, { note: 'example' });
    assert.equal(pluginProcesses(go.cmd).length, 1, 'one plugin process serves the CA');

    const roots = (await a.get('/v1/connect/ca/roots')).json as { ActiveRootID: string; Roots: { ID: string; Active: boolean; RootCert: string; IntermediateCerts: string[] | null }[] };
    assert.equal(roots.Roots.length, 2);
    const active = roots.Roots.find((x) => x.ID === roots.ActiveRootID);
    assert.ok(active);
    assert.match(opensslText(active.RootCert), /Switchyard Go plugin CA Root/);

    const leaf = await a.get('/v1/agent/connect/ca/leaf/web');
    assert.equal(leaf.status, 200, leaf.text);
    const { CertPEM } = leaf.json as { CertPEM: string };
    const [leafPem] = splitPem(CertPEM);
    const v = opensslVerify(active.RootCert, leafPem as string);
    assert.ok(v.ok, v.output);
    assert.match(opensslText(leafPem as string), /URI:spiffe:\/\/[^/]+\.consul\/ns\/default\/dc\/dc1\/svc\/web/);
    // A peer that still trusts only the old root accepts it through the cross-signed certificate.
    const cross = (active.IntermediateCerts ?? []).join('');
    assert.ok(cross !== '', 'the new root is cross-signed by the old one');
    assert.ok(opensslVerify(oldRoot, leafPem as string, cross).ok);
  });
});
