// A CA plugin that is alive but hung (a process that answers nothing, or one whose health
// service answers while its CA calls never do) is killed and restarted by the real host like a
// crashed one, the reason logged, and signing through the CA recovers without restarting it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CAService } from '../../src/ca/ca-service.js';
import { certPem } from '../../src/ca/pem.js';
import { PluginProvider } from '../../src/ca/plugin/plugin-provider.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import { systemClock } from '../../src/core/clock.js';
import { hangingPlugin, stillRunning, TS_PLUGIN_SCRIPT, tsPlugin } from '../support/ca-plugins.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';
import { assertUnderActiveRoot, makeCsr } from './support.js';

const HANGING_SCRIPT = new URL('../support/hanging-ca-plugin.js', import.meta.url).pathname;
const stopped: number[] = [];
// A stopped process left by a failing test would never exit on its own.
after(() =>
  stopped.forEach((pid) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }),
);

function pluginCA(cmd: string, log: ReturnType<typeof recordingLogger>, host: { maxMissedDeadlines?: number } = {}) {
  let provider: PluginProvider | undefined;
  const ca = new CAService({
    store: new MemoryCAStateStore(),
    clock: systemClock,
    logger: log,
    datacenter: 'dc1',
    initialConfig: { Provider: 'plugin', Config: { plugin_cmd: cmd } },
    newProvider: () => (provider = new PluginProvider({ logger: log, clock: systemClock, callTimeoutMs: 1000, host: { healthTimeoutMs: 3000, backoff: { baseMs: 50, maxMs: 200 }, ...host } })),
  });
  return { ca, provider: () => provider as PluginProvider };
}

describe('a hung CA plugin', () => {
  it('is killed and restarted once a call runs out of time and its health check fails too; signing recovers with the same root', async () => {
    const log = recordingLogger();
    // Only the failed health check counts here (missed deadlines in a row are the next test's).
    const { ca, provider } = pluginCA(tsPlugin().cmd, log, { maxMissedDeadlines: 100 });
    await ca.start();
    try {
      const sign = async () => ca.signLeaf(await makeCsr([`spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`]), { service: 'web' });
      await sign();
      const pid = provider().pid as number;
      // Alive but answering nothing: the process is stopped, its socket still there.
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
      await assert.rejects(sign(), /CA provider plugin "ts-ca-plugin" did not answer Sign within 1000 ms/);

      const leaf = await waitFor('a leaf signed by a restarted plugin', () => sign().catch(() => undefined), { timeoutMs: 20_000 });
      assert.notEqual(provider().pid, pid, 'another plugin process signs');
      await waitFor(`the hung plugin (pid ${pid}) to be gone`, () => !stillRunning(pid, TS_PLUGIN_SCRIPT));
      stopped.pop();
      const hung = log.entries.find((e) => e.level === 'error' && / is hung /.test(e.msg));
      assert.ok(hung, 'the host logs why it killed the plugin');
      assert.match(hung.msg, /CA provider plugin "ts-ca-plugin" is hung \(Sign ran past its deadline and its health check failed: .*\); killing it/);
      assert.equal(hung.fields.pid, pid);
      assert.ok(log.entries.some((e) => e.msg === 'CA plugin restarted'));
      // The restarted plugin was given its keys back: its leaf verifies under the same root.
      assert.equal(leaf.rootId, ca.roots().ActiveRootID);
      assertUnderActiveRoot(ca.roots(), leaf.certPem);
    } finally {
      await ca.stop();
    }
  });

  it('is restarted after three calls in a row run out of time, even while its health service answers', async () => {
    const log = recordingLogger();
    const { ca, provider } = pluginCA(hangingPlugin().cmd, log);
    await ca.start();
    try {
      const pid = provider().pid as number;
      const sign = async () => ca.signLeaf(await makeCsr([`spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`]), { service: 'web' });
      for (let i = 0; i < 2; i++) await assert.rejects(sign(), /did not answer Sign within 1000 ms/);
      // Two missed deadlines with a healthy health service: still the same process.
      assert.equal(provider().pid, pid);
      assert.ok(!log.entries.some((e) => / is hung /.test(e.msg)));
      await assert.rejects(sign(), /did not answer Sign within 1000 ms/);
      const hung = log.entries.find((e) => e.level === 'error' && / is hung /.test(e.msg));
      assert.ok(hung);
      assert.match(hung.msg, /"hanging-ca-plugin" is hung \(it answered none of the last 3 calls in time \(the last: Sign\)\); killing it/);
      await waitFor('the hung plugin to be replaced by a new process', () => provider().pid !== undefined && provider().pid !== pid && !stillRunning(pid, HANGING_SCRIPT));
      // The restarted plugin was configured with the persisted keys: it signs with the same root.
      const roots = ca.roots();
      const root = roots.Roots.find((r) => r.ID === roots.ActiveRootID)?.RootCert;
      await waitFor('the restarted plugin to answer', async () => certPem(await provider().activeLeafSigningCert().catch(() => new Uint8Array())) === root || undefined);
    } finally {
      await ca.stop();
    }
  });
});
