// What only a plugin provider does, for both example plugins (the Go one: go-plugin v1.8.0 and
// crypto/x509; the TypeScript one: serve()), through the go-plugin host: state carried to a new
// process, cleanup ending the process, the plugin's log mirrored into the agent's. The calls
// every provider answers alike are in provider-conformance.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PluginProvider } from '../../src/ca/plugin/plugin-provider.js';
import type { ProviderConfig } from '../../src/ca/provider.js';
import { systemClock } from '../../src/core/clock.js';
import { goPlugin, tsPlugin, type PluginBinary } from '../support/ca-plugins.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';
import { makeCsr } from './support.js';

const CLUSTER = '11111111-2222-3333-4444-555555555555';
const TD = `${CLUSTER}.consul`;
const WEB = `spiffe://${TD}/ns/default/dc/dc1/svc/web`;
const HOUR = 3_600_000;

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
  describe(`CA plugin host: ${title}`, () => {
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

    it('resumes from its state in a new plugin process', async () => {
      const a = await provider();
      const { root } = await a.generateRoot();
      const state = await a.state();
      assert.ok(Object.keys(state).length > 0, 'the plugin has state to persist');
      const b = await provider({ state });
      assert.notEqual(b.pid, a.pid);
      assert.deepEqual((await b.generateRoot()).root, root);
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
