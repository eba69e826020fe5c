// The plugin host's lifecycle as an operator sees it: a plugin that crashes is restarted with
// backoff (its sha256 checked again before each start) and resumes the same CA; while it is down
// new leaves fail with an error naming it and existing leaves are still served; when the agent
// stops (SIGTERM) or is killed (SIGKILL) no plugin process is left behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { AgentProcess, BIN, killAgents, spawnAgent } from '../support/agent-process.js';
import { goPlugin, pluginProcesses, processesRunning, sha256Of, stillRunning, TS_PLUGIN_SCRIPT, tsPlugin } from '../support/ca-plugins.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { DeltaClient, node } from '../support/ads-client.js';
import { recordingLogger } from '../support/recording-logger.js';
import { freePort, waitFor } from '../support/wait.js';
import { opensslVerify, splitPem } from './support.js';
import type { CARoots as Roots } from '../../src/ca/types.js';

after(() => killAgents());


describe('CA plugin lifecycle', () => {
  it('restarts a crashed plugin with backoff; meanwhile new leaves fail naming it, old ones are served, xDS goes on', async () => {
    const log = recordingLogger();
    const a = await TestAgent.start({}, { logger: log });
    let xds: DeltaClient | undefined;
    try {
      const ts = tsPlugin();
      const r = await a.put('/v1/connect/ca/configuration', { Provider: 'plugin', Config: { plugin_cmd: ts.cmd, plugin_checksum: ts.sha256 } });
      assert.equal(r.status, 200, r.text);
      const roots = (await a.get('/v1/connect/ca/roots')).json as Roots;
      const web = await a.get('/v1/agent/connect/ca/leaf/web');
      assert.equal(web.status, 200, web.text);
      const [pid] = pluginProcesses(TS_PLUGIN_SCRIPT);
      assert.ok(pid, 'the plugin runs as a child of the agent');
      // A sidecar's xDS stream, with its leaf issued by the plugin.
      const register = (port: number) => a.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: port, Connect: { SidecarService: {} } });
      assert.equal((await register(8080)).status, 200);
      xds = DeltaClient.open(a.agent.xds.port, node('web-sidecar-proxy'));
      xds.subscribe(TypeUrl.Cluster);
      xds.ack(await xds.expect('CDS', 20_000));
      xds.subscribe(TypeUrl.Listener);
      xds.ack(await xds.expect('LDS'));

      // The binary changes under it (its checksum no longer matches), then it crashes.
      const original = readFileSync(ts.cmd, 'utf8');
      writeFileSync(ts.cmd, `${original}# tampered\n`);
      process.kill(pid, 'SIGKILL');

      // At first the call in flight sees the connection go; then the host knows it is down and why.
      const down = await waitFor('signing to fail, saying why the plugin is down', async () => {
        const res = await a.get('/v1/agent/connect/ca/leaf/api');
        assert.equal(res.status, 503, res.text);
        assert.match(res.text, /CA provider plugin "ts-ca-plugin" is not (available|running)/);
        return /not the configured plugin_checksum/.test(res.text) ? res : undefined;
      });
      assert.match(down.text, /CA provider plugin "ts-ca-plugin" is not running \(restarting it failed: .* has sha256 [0-9a-f]{64}, not the configured plugin_checksum .*\); it is being restarted/);
      // The leaf issued before the crash is still served.
      const again = await a.get('/v1/agent/connect/ca/leaf/web');
      assert.equal(again.status, 200);
      assert.equal((again.json as { SerialNumber: string }).SerialNumber, (web.json as { SerialNumber: string }).SerialNumber);
      // The sidecar's stream is untouched and still gets configuration changes.
      assert.equal((await register(8081)).status, 200);
      const next = await xds.expect('the cluster for port 8081', 10_000);
      assert.equal(next.typeUrl, TypeUrl.Cluster);
      assert.ok(next.resources.some((r) => r.name === 'local_app'));
      assert.equal(xds.ended, undefined, 'the xDS stream stays open while the CA plugin is down');

      // Restarts back off: each wait longer than the one before (250 ms doubling, jittered).
      const downs = await waitFor('three restarts refused', () => {
        const d = log.entries.filter((e) => e.level === 'error' && / is down /.test(e.msg));
        return d.length >= 3 ? d : undefined;
      });
      assert.deepEqual(downs.slice(0, 3).map((e) => e.fields.failures), [1, 2, 3]);
      const waits = downs.slice(0, 3).map((e) => e.fields.retryInMs as number);
      assert.ok((waits[0] as number) < (waits[2] as number), `backoff ${waits.join(', ')} ms does not grow`);

      writeFileSync(ts.cmd, original);
      const api = await waitFor('signing to work again once the plugin is restarted', async () => {
        const res = await a.get('/v1/agent/connect/ca/leaf/api');
        return res.status === 200 ? res : undefined;
      }, { timeoutMs: 20_000 });
      const [newPid] = pluginProcesses(TS_PLUGIN_SCRIPT);
      assert.ok(newPid !== undefined && newPid !== pid);
      // The same CA: the restarted plugin resumed its keys from the persisted state.
      const now = (await a.get('/v1/connect/ca/roots')).json as Roots;
      assert.equal(now.ActiveRootID, roots.ActiveRootID);
      const root = now.Roots.find((x) => x.ID === now.ActiveRootID)?.RootCert as string;
      const v = opensslVerify(root, splitPem((api.json as { CertPEM: string }).CertPEM)[0] as string);
      assert.ok(v.ok, v.output);
    } finally {
      xds?.close();
      await a.close();
    }
    assert.deepEqual(pluginProcesses(TS_PLUGIN_SCRIPT), [], 'closing the agent stopped its plugin');
    // It was asked to (GRPCController.Shutdown) and went within the grace, without being killed.
    assert.ok(log.entries.some((e) => e.msg === 'shutdown asked by the host' && e.fields.plugin === 'ts-ca-plugin'));
    assert.ok(!log.entries.some((e) => /did not exit after Shutdown/.test(e.msg)));
  });

  it('takes an upgraded binary with its new plugin_checksum without a new root, and refuses a checksum the binary does not have', async () => {
    const a = await TestAgent.start();
    try {
      const ts = tsPlugin();
      const put = (checksum: string) => a.put('/v1/connect/ca/configuration', { Provider: 'plugin', Config: { plugin_cmd: ts.cmd, plugin_checksum: checksum } });
      assert.equal((await put(ts.sha256)).status, 200);
      const roots = (await a.get('/v1/connect/ca/roots')).json as Roots;
      const [pid] = pluginProcesses(TS_PLUGIN_SCRIPT);
      assert.ok(pid);

      const wrong = await put('f'.repeat(64));
      assert.equal(wrong.status, 400, wrong.text);
      assert.match(wrong.text, /Config\.plugin_checksum: .*has sha256 [0-9a-f]{64}, not the configured plugin_checksum f{64}/);
      assert.deepEqual(pluginProcesses(TS_PLUGIN_SCRIPT), [pid], 'the plugin serving the CA keeps running');
      assert.equal(((await a.get('/v1/connect/ca/configuration')).json as { Config: { plugin_checksum: string } }).Config.plugin_checksum, ts.sha256);

      // The upgrade: a new binary in place (renamed over the old), then its checksum.
      const upgraded = `${readFileSync(ts.cmd, 'utf8')}# v2\n`;
      writeFileSync(`${ts.cmd}.new`, upgraded, { mode: 0o755 });
      renameSync(`${ts.cmd}.new`, ts.cmd);
      const sum = sha256Of(ts.cmd);
      assert.equal((await put(sum)).status, 200);
      const after = (await a.get('/v1/connect/ca/roots')).json as Roots;
      assert.deepEqual([after.ActiveRootID, after.Roots], [roots.ActiveRootID, roots.Roots], 'a new checksum alone keeps the root');
      // The upgraded binary serves the CA now, in place of the old process.
      const [upgradedPid] = await waitFor('one plugin process, the upgraded one', () => {
        const now = pluginProcesses(TS_PLUGIN_SCRIPT);
        return now.length === 1 && now[0] !== pid ? now : undefined;
      });
      // A restart checks the new checksum: the restarted plugin runs and signs with the same CA.
      process.kill(upgradedPid as number, 'SIGKILL');
      const leaf = await waitFor('a leaf from the restarted plugin', async () => {
        const res = await a.get('/v1/agent/connect/ca/leaf/db');
        return res.status === 200 ? res : undefined;
      }, { timeoutMs: 20_000 });
      const root = roots.Roots.find((x) => x.ID === roots.ActiveRootID)?.RootCert as string;
      assert.ok(opensslVerify(root, splitPem((leaf.json as { CertPEM: string }).CertPEM)[0] as string).ok);
      assert.equal(pluginProcesses(TS_PLUGIN_SCRIPT).filter((p) => p === pid || p === upgradedPid).length, 0);
    } finally {
      await a.close();
    }
  });

  it('resumes the plugin\'s CA when the agent restarts on its data dir (the plugin gets its state back)', async () => {
    const go = await goPlugin();
    const agent = await AgentProcess.start();
    try {
      await agent.api.request('PUT', '/v1/connect/ca/configuration', { Provider: 'plugin', Config: { plugin_cmd: go.cmd, plugin_checksum: go.sha256 } });
      const before = await agent.api.request<Roots>('GET', '/v1/connect/ca/roots');
      await agent.stop('SIGTERM');
      await agent.launch();
      const after = await agent.api.request<Roots>('GET', '/v1/connect/ca/roots');
      assert.deepEqual(after, before);
      const config = await agent.api.request<{ Provider: string }>('GET', '/v1/connect/ca/configuration');
      assert.equal(config.Provider, 'plugin');
      // The new plugin process signs with the same key: its leaves verify under the same root.
      const leaf = await agent.api.request<{ CertPEM: string }>('GET', '/v1/agent/connect/ca/leaf/web');
      const root = after.Roots.find((x) => x.ID === after.ActiveRootID)?.RootCert as string;
      const v = opensslVerify(root, splitPem(leaf.CertPEM)[0] as string);
      assert.ok(v.ok, v.output);
    } finally {
      await agent.dispose();
    }
  });

  it('starts an agent whose plugin cannot start: roots served, leaves fail naming it, the plugin tried again until it starts', async () => {
    const ts = tsPlugin();
    const agent = await AgentProcess.start();
    try {
      await agent.api.request('PUT', '/v1/connect/ca/configuration', { Provider: 'plugin', Config: { plugin_cmd: ts.cmd, plugin_checksum: ts.sha256 } });
      const before = await agent.api.request<Roots>('GET', '/v1/connect/ca/roots');
      await agent.stop('SIGTERM');
      const original = readFileSync(ts.cmd, 'utf8');
      writeFileSync(ts.cmd, `${original}# tampered\n`);
      await agent.launch();
      const roots = await agent.api.request<Roots>('GET', '/v1/connect/ca/roots');
      assert.deepEqual([roots.ActiveRootID, roots.Roots], [before.ActiveRootID, before.Roots]);
      const leaf = await fetch(`http://${agent.httpAddr}/v1/agent/connect/ca/leaf/web`);
      const text = await leaf.text();
      assert.equal(leaf.status, 503, text);
      assert.match(text, /CA provider plugin "ts-ca-plugin" is not running \(it could not be started: .*not the configured plugin_checksum/);
      writeFileSync(ts.cmd, original);
      const signed = await waitFor('the plugin to be started again and sign', async () => {
        const r = await fetch(`http://${agent.httpAddr}/v1/agent/connect/ca/leaf/web`);
        return r.status === 200 ? ((await r.json()) as { CertPEM: string }) : undefined;
      }, { timeoutMs: 30_000 });
      const root = roots.Roots.find((x) => x.ID === roots.ActiveRootID)?.RootCert as string;
      const v = opensslVerify(root, splitPem(signed.CertPEM)[0] as string);
      assert.ok(v.ok, v.output);
    } finally {
      await agent.dispose();
    }
  });

  it('leaves no plugin process when the agent fails to start after its CA did', async () => {
    // A copy of the Go plugin only this test runs, so any process running it is this test's.
    const go = await goPlugin();
    const dir = mkdtempSync(join(tmpdir(), 'sy-plugin-copy-'));
    const cmd = join(dir, 'ca-plugin-go');
    copyFileSync(go.cmd, cmd);
    chmodSync(cmd, 0o755);
    const agent = await AgentProcess.start();
    try {
      await agent.api.request('PUT', '/v1/connect/ca/configuration', { Provider: 'plugin', Config: { plugin_cmd: cmd } });
      await agent.stop('SIGTERM');
      // The xDS port is taken: the agent starts its CA (the plugin) from the data dir, then fails.
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(agent.grpcPort, '127.0.0.1', resolve));
      try {
        const child = spawn(process.execPath, [BIN, 'agent', '-data-dir', agent.dataDir, '-http-port', String(agent.httpPort), '-grpc-port', String(agent.grpcPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        assert.equal(code, 1);
        assert.match(stderr, /EADDRINUSE/);
        assert.match(stderr, /CA plugin started/, 'the CA (and its plugin) had started');
      } finally {
        blocker.close();
      }
      assert.deepEqual(processesRunning(cmd), [], 'a plugin process outlived the failed start');
    } finally {
      await agent.dispose();
    }
  });

  for (const [signal, which] of [['SIGTERM', 'go'], ['SIGKILL', 'go'], ['SIGKILL', 'ts']] as const) {
    it(`leaves no ${which === 'go' ? 'Go' : 'TypeScript'} plugin process when the agent gets ${signal}`, async () => {
      const plugin = which === 'go' ? await goPlugin() : tsPlugin();
      const shownAs = which === 'go' ? plugin.cmd : TS_PLUGIN_SCRIPT;
      const agent = await spawnAgent(['-dev', '-grpc-port', String(await freePort())]);
      const r = await fetch(`${agent.base}/v1/connect/ca/configuration`, { method: 'PUT', body: JSON.stringify({ Provider: 'plugin', Config: { plugin_cmd: plugin.cmd } }) });
      assert.equal(r.status, 200, await r.text());
      const [pid] = pluginProcesses(shownAs, agent.child.pid);
      assert.ok(pid, 'the plugin runs as a child of the agent');
      agent.child.kill(signal);
      const exit = await agent.exited;
      await waitFor(`the plugin (pid ${pid}) to be gone`, () => !stillRunning(pid, shownAs));
      if (signal === 'SIGTERM') {
        assert.equal(exit.code, 0, agent.stderr());
        // It was asked to shut down (GRPCController.Shutdown), not killed.
        assert.match(agent.stderr(), /CA plugin stopped/);
        assert.doesNotMatch(agent.stderr(), /did not exit after Shutdown/);
      }
    });
  }
});
