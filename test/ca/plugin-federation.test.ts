// A secondary datacenter whose CA is a plugin: its key lives in the Go plugin, the primary
// (built-in) signs the plugin's intermediate CSR, and the secondary's leaves chain to dc1's root.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import type { CARoots } from '../../src/ca/types.js';
import { TestAgent } from '../support/agent.js';
import { goPlugin, pluginProcesses } from '../support/ca-plugins.js';
import { waitFor } from '../support/wait.js';
import { opensslText, opensslVerify, splitPem } from './support.js';

const roots = async (a: TestAgent) => (await a.get('/v1/connect/ca/roots')).json as CARoots;

describe('a secondary datacenter CA on a plugin', () => {
  it("signs dc2 leaves with the plugin's intermediate, signed by dc1's root", async () => {
    const go = await goPlugin();
    const dc1 = await TestAgent.start({ datacenter: 'dc1', node: 'n1' });
    const dc2 = await TestAgent.start({ datacenter: 'dc2', node: 'n2', primaryDatacenter: 'dc1', retryJoinWan: [dc1.agent.httpAddress] }, { primaryBackoff: { baseMs: 50, maxMs: 200 } });
    try {
      const r1 = await roots(dc1);
      await waitFor('dc2 to follow dc1', async () => (await roots(dc2)).ActiveRootID === r1.ActiveRootID);
      const before = (await dc2.get('/v1/agent/connect/ca/leaf/web')).json as { CertPEM: string };
      const builtinIntermediate = splitPem(before.CertPEM)[1];

      const put = await dc2.put('/v1/connect/ca/configuration', { Provider: 'plugin', Config: { plugin_cmd: go.cmd, plugin_checksum: go.sha256 } });
      assert.equal(put.status, 200, put.text);
      // dc2 gets a new intermediate, made by the plugin, signed by dc1.
      await waitFor("dc2 to sign with the plugin's intermediate", async () => {
        const active = (await roots(dc2)).Roots.find((r) => r.Active);
        const pem = active?.IntermediateCerts?.at(-1);
        return pem !== undefined && pem !== builtinIntermediate && /Switchyard Go plugin CA Intermediate dc2/.test(opensslText(pem));
      }, { timeoutMs: 20_000 });
      const r = await dc2.get('/v1/agent/connect/ca/leaf/api');
      assert.equal(r.status, 200, r.text);
      const [leafPem, intermediatePem] = splitPem((r.json as { CertPEM: string }).CertPEM) as [string, string];
      assert.match(opensslText(intermediatePem), /Switchyard Go plugin CA Intermediate dc2/);
      const pemRoots = (await dc1.get('/v1/connect/ca/roots?pem=true')).text;
      const v = opensslVerify(pemRoots, leafPem, intermediatePem);
      assert.ok(v.ok, v.output);
      assert.match(new X509Certificate(leafPem).subjectAltName ?? '', /\/dc\/dc2\/svc\/api$/);
      assert.match(opensslText(intermediatePem), /CA:TRUE, pathlen:0/);
      // One plugin process serves dc2's CA (the one that made the CSR; none left over).
      assert.equal(pluginProcesses(go.cmd).length, 1);
    } finally {
      await dc2.close();
      await dc1.close();
    }
    assert.deepEqual(pluginProcesses(go.cmd), []);
  });
});
