// The agent's leaf_reissue_jitter (config file, for tests): the shortest window over which leaves
// are re-issued after the active CA root changes. Bad values are refused naming the key; a short
// window re-issues every watched leaf within it instead of over the default 30 s.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Subscription } from 'rxjs';
import { resolveConfig } from '../../src/cli/agent-config.js';
import type { LeafCert } from '../../src/ca/types.js';
import { TestAgent } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-reissue-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(content: unknown): string {
  const p = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(content));
  return p;
}

describe('leaf_reissue_jitter', () => {
  it('is read from the config file as a duration from 0s to 10m, and a bad one is refused naming it', () => {
    assert.equal(resolveConfig({ dev: true, 'config-file': file({ leaf_reissue_jitter: '2s' }) }).leafReissueJitterMs, 2000);
    assert.equal(resolveConfig({ dev: true, 'config-file': file({ leaf_reissue_jitter: '0s' }) }).leafReissueJitterMs, 0);
    assert.equal(resolveConfig({ dev: true }).leafReissueJitterMs, undefined, 'unset: the leaf manager keeps its 30 s');
    for (const bad of ['11m', 'soon', '-1s']) {
      assert.throws(() => resolveConfig({ dev: true, 'config-file': file({ leaf_reissue_jitter: bad }) }), /leaf_reissue_jitter: must be a duration from 0s to 10m/, bad);
    }
  });

  it('set to 0s, every watched leaf is re-issued under the new root at once after a rotation', async () => {
    const agent = await TestAgent.start({ leafReissueJitterMs: 0 });
    const subs: Subscription[] = [];
    try {
      const latest = new Map<string, LeafCert>();
      const services = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
      for (const s of services) subs.push(agent.agent.leaves.watchLeaf(s).subscribe((l) => latest.set(s, l)));
      await waitFor('every leaf to be issued', () => latest.size === services.length);
      const first = new Map(latest);
      const put = await agent.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 } });
      assert.equal(put.status, 200, put.text);
      // Spread over the default 30 s, twenty leaves would not all be re-issued within 5 s.
      await waitFor('every leaf to be re-issued', () => services.every((s) => latest.get(s)?.SerialNumber !== first.get(s)?.SerialNumber), { timeoutMs: 5000 });
    } finally {
      for (const s of subs) s.unsubscribe();
      await agent.close();
    }
  });
});
