import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killAgents, spawnAgent } from '../support/agent-process.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-durable-'));
after(() => {
  killAgents();
  rmSync(dir, { recursive: true, force: true });
});

async function write(base: string, i: number): Promise<boolean> {
  try {
    const res = await fetch(`${base}/v1/config`, { method: 'PUT', body: JSON.stringify({ Kind: 'service-defaults', Name: `svc-${i}`, Protocol: 'http' }) });
    return res.status === 200 && (await res.json()) === true;
  } catch {
    return false; // the agent died before answering: not acknowledged
  }
}

describe('durability', () => {
  it('keeps every acknowledged write after SIGKILL in the middle of a stream of writes', async () => {
    const agent = await spawnAgent(['-data-dir', join(dir, 'kill')]);
    const acked: number[] = [];
    let next = 0;
    let killed = false;
    const streams = Array.from({ length: 8 }, async () => {
      while (!killed) {
        const i = next++;
        if (await write(agent.base, i)) acked.push(i);
      }
    });
    await waitFor('300 acknowledged writes', () => acked.length >= 300, { timeoutMs: 60_000, intervalMs: 1 });
    agent.child.kill('SIGKILL');
    // Keep writing until the process is gone, so writes are in flight when it dies.
    const exit = await agent.exited;
    killed = true;
    await Promise.all(streams);
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(next > acked.length, 'writes were in flight when the agent died');

    const again = await spawnAgent(['-data-dir', join(dir, 'kill')]);
    try {
      const entries = (await (await fetch(`${again.base}/v1/config/service-defaults`)).json()) as { Name: string }[];
      const names = new Set(entries.map((e) => e.Name));
      const lost = acked.filter((i) => !names.has(`svc-${i}`));
      assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged writes lost`);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });

  it('shuts down gracefully on SIGTERM, finishing writes in flight', async () => {
    const agent = await spawnAgent(['-data-dir', join(dir, 'term')]);
    const pending = Array.from({ length: 50 }, (_, i) => write(agent.base, i));
    await pending[0];
    agent.child.kill('SIGTERM');
    const results = await Promise.all(pending);
    const exit = await agent.exited;
    assert.equal(exit.code, 0, agent.stderr());
    assert.match(agent.stdout(), /Switchyard agent stopped/);
    const again = await spawnAgent(['-data-dir', join(dir, 'term')]);
    try {
      const entries = (await (await fetch(`${again.base}/v1/config/service-defaults`)).json()) as { Name: string }[];
      const names = new Set(entries.map((e) => e.Name));
      results.forEach((ok, i) => ok && assert.ok(names.has(`svc-${i}`), `svc-${i} acknowledged but missing`));
      assert.ok(results.filter(Boolean).length >= 1);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });
});
