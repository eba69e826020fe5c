// The federation settings as an operator writes them: config file keys and flags, and the
// refusals that name them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/agent-config.js';
import { main } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-fed-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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
