// The federation settings as an operator writes them: config file keys and flags, and the
// refusals that name them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/agent-config.js';
import { main } from '../../src/cli/main.js';
import { TestAgent } from '../support/agent.js';
import { killAgents, spawnAgent } from '../support/agent-process.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-fed-config-'));
after(() => {
  killAgents();
  rmSync(dir, { recursive: true, force: true });
});

function file(content: unknown): string {
  const p = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(content));
  return p;
}

describe('federation settings', () => {
  it('makes an agent its own primary by default, and takes a secondary\'s settings from the file or flags', () => {
    const lone = resolveConfig({ dev: true, datacenter: 'east' });
    assert.deepEqual([lone.primaryDatacenter, lone.retryJoinWan], ['east', []]);
    const fromFile = resolveConfig({ dev: true, 'config-file': file({ datacenter: 'dc2', primary_datacenter: 'dc1', retry_join_wan: ['10.0.0.1:8500', '[::1]:8500'] }) });
    assert.deepEqual([fromFile.datacenter, fromFile.primaryDatacenter, fromFile.retryJoinWan], ['dc2', 'dc1', ['10.0.0.1:8500', '[::1]:8500']]);
    const fromFlags = resolveConfig({ dev: true, datacenter: 'dc2', 'primary-datacenter': 'dc1', 'retry-join-wan': ['a.example:8500', 'b.example:8500'] });
    assert.deepEqual(fromFlags.retryJoinWan, ['a.example:8500', 'b.example:8500']);
    // A primary may list retry_join_wan (as a Consul WAN pool does): accepted, unused.
    assert.deepEqual(resolveConfig({ dev: true, 'retry-join-wan': ['10.0.0.2:8500'] }).retryJoinWan, ['10.0.0.2:8500']);
  });

  it('refuses a secondary without retry_join_wan, and bad addresses, naming the setting', async () => {
    assert.throws(() => resolveConfig({ dev: true, datacenter: 'dc2', 'primary-datacenter': 'dc1' }), /retry_join_wan: is required in a secondary datacenter: primary_datacenter is "dc1"/);
    assert.throws(() => resolveConfig({ dev: true, 'config-file': file({ datacenter: 'dc2', primary_datacenter: 'dc1', retry_join_wan: ['10.0.0.1'] }) }), /retry_join_wan\[0\]: must be the primary agent's HTTP address as host:port/);
    assert.throws(() => resolveConfig({ dev: true, 'retry-join-wan': ['h:70000'] }), /-retry-join-wan\[0\].*port must be between 1 and 65535/);
    assert.throws(() => resolveConfig({ dev: true, 'primary-datacenter': 'dc 1' }), /-primary-datacenter/);
    let err = '';
    const code = await main(['agent', '-dev', '-http-port', '0', '-grpc-port', '0', '-datacenter', 'dc2', '-primary-datacenter', 'dc1'], { stdout: () => undefined, stderr: (t) => (err += t), env: {} });
    assert.equal(code, 1);
    assert.match(err, /retry_join_wan.*primary_datacenter/);
  });
});

describe('switchyard agent -retry-join-wan', () => {
  it('runs a secondary datacenter that follows the primary named by the flag', async () => {
    const primary = await TestAgent.start({ datacenter: 'dc1' });
    try {
      assert.equal((await primary.put('/v1/config', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' })).status, 200);
      const secondary = await spawnAgent(['-dev', '-grpc-port', '0', '-datacenter', 'dc2', '-primary-datacenter', 'dc1', '-retry-join-wan', '127.0.0.1:1', '-retry-join-wan', primary.agent.httpAddress]);
      // The first address refuses: the link goes on to the next.
      await waitFor('the entry in the secondary process', async () => (await fetch(`${secondary.base}/v1/config/service-defaults/web`)).status === 200);
      const status = (await (await fetch(`${secondary.base}/v1/internal/federation/status`)).json()) as { PrimaryDatacenter: string; Link: { Addresses: string[]; Reachable: boolean } };
      assert.equal(status.PrimaryDatacenter, 'dc1');
      assert.deepEqual(status.Link.Addresses, ['127.0.0.1:1', primary.agent.httpAddress]);
      assert.equal(status.Link.Reachable, true);
      secondary.child.kill('SIGTERM');
      assert.equal((await secondary.exited).code, 0);
    } finally {
      await primary.close();
    }
  });
});
