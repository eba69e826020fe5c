// End to end: a real Switchyard agent, real Envoy sidecars configured only through ADS, real
// mTLS between them, real applications. For both tcp and http protocols over delta ADS, and for
// http with Envoy on state-of-the-world ADS (`connect envoy -ads-mode sotw`, for older Envoys).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from '../support/agent-process.js';
import { call, CallLoop, startNamedHttpServer, type NamedServer } from '../support/apps.js';
import { EnvoyProcess } from '../support/envoy.js';
import { freePort, waitFor } from '../support/wait.js';

interface CertsDump {
  certificates: { ca_cert: { subject_alt_names?: { uri?: string }[] }[]; cert_chain: { subject_alt_names?: { uri?: string }[]; serial_number: string }[] }[];
}

function sanUris(dump: CertsDump): string[] {
  return dump.certificates.flatMap((c) => [...c.cert_chain, ...c.ca_cert]).flatMap((x) => (x.subject_alt_names ?? []).map((s) => s.uri ?? '')).filter(Boolean);
}

/** The healthy endpoints of the `server` upstream in a sidecar's /clusters text. */
function healthyServerEndpoints(clusters: string): string[] {
  return clusters.split('\n').filter((l) => l.startsWith('server.default.dc1.internal.') && l.includes('::health_flags::healthy'));
}

const VARIANTS = [
  { protocol: 'tcp', adsMode: 'delta' },
  { protocol: 'http', adsMode: 'delta' },
  { protocol: 'http', adsMode: 'sotw' },
] as const;

for (const { protocol, adsMode } of VARIANTS) {
  describe(`mesh with real Envoy sidecars (${protocol}, ${adsMode} ADS)`, { concurrency: false }, () => {
    const bootstrapFor = (id: string) => agent.bootstrapFor(id, ['-ads-mode', adsMode]);
    let agent: AgentProcess;
    const apps: NamedServer[] = [];
    const envoys: EnvoyProcess[] = [];
    let upstreamPort: number;
    let clientEnvoy: EnvoyProcess;
    let serverEnvoy: EnvoyProcess;

    async function registerServer(name: string, id: string): Promise<EnvoyProcess> {
      const app = await startNamedHttpServer(name);
      apps.push(app);
      await agent.api.put('/v1/agent/service/register', {
        ID: id,
        Name: 'server',
        Port: app.port,
        Address: '127.0.0.1',
        Connect: { SidecarService: { Port: await freePort() } },
      });
      const envoy = await EnvoyProcess.start(bootstrapFor(id), { logLevel: 'warn' });
      envoys.push(envoy);
      return envoy;
    }

    before(async () => {
      agent = await AgentProcess.start();
      if (protocol === 'http') await agent.api.put('/v1/config', { Kind: 'service-defaults', Name: 'server', Protocol: 'http' });
      serverEnvoy = await registerServer('server-1', 'server-1');
      upstreamPort = await freePort();
      await agent.api.put('/v1/agent/service/register', {
        ID: 'client',
        Name: 'client',
        Port: await freePort(),
        Connect: { SidecarService: { Port: await freePort(), Proxy: { Upstreams: [{ DestinationName: 'server', LocalBindPort: upstreamPort }] } } },
      });
      clientEnvoy = await EnvoyProcess.start(bootstrapFor('client'), { logLevel: 'warn' });
      envoys.push(clientEnvoy);
    });

    after(async () => {
      for (const e of envoys) await e.stop();
      for (const a of apps) await a.close();
      await agent?.dispose();
    });

    it('carries a call from client to server through both sidecars with mutual TLS', async () => {
      await waitFor('a call through the mesh', async () => {
        const r = await call(upstreamPort);
        return r.ok && r.body === 'server-1' ? r : undefined;
      }, { timeoutMs: 30_000 });
      const clientCerts = sanUris(await clientEnvoy.adminJson<CertsDump>('/certs'));
      assert.ok(clientCerts.some((u) => /^spiffe:\/\/[^/]+\.consul\/ns\/default\/dc\/dc1\/svc\/client$/.test(u)), `client sidecar certs: ${clientCerts.join(', ')}`);
      const serverCerts = sanUris(await serverEnvoy.adminJson<CertsDump>('/certs'));
      assert.ok(serverCerts.some((u) => u.endsWith('/svc/server')), `server sidecar certs: ${serverCerts.join(', ')}`);
      const status = (await agent.api.get('/v1/agent/xds/status/client-sidecar-proxy')) as { Streams: { Kind: string }[] };
      assert.deepEqual(status.Streams.map((st) => st.Kind), [adsMode], 'the client sidecar is served over the ADS variant its bootstrap asks for');
      const handshakes = [...(await serverEnvoy.stats('ssl\\.handshake$')).entries()].filter(([k]) => k.startsWith('listener.'));
      assert.ok(handshakes.some(([, v]) => v > 0), `the server sidecar's public listener saw TLS handshakes: ${JSON.stringify(handshakes)}`);
    });

    it('a deny intention stops the calls and removing it restores them', async () => {
      await agent.api.put('/v1/connect/intentions/exact?source=client&destination=server', { Action: 'deny' });
      await waitFor('calls to be denied', async () => !(await call(upstreamPort)).ok, { timeoutMs: 10_000 });
      await agent.api.delete('/v1/connect/intentions/exact?source=client&destination=server');
      await waitFor('calls to be allowed again', async () => (await call(upstreamPort)).ok, { timeoutMs: 10_000 });
    });

    it('a second server instance appears in EDS and receives traffic', async () => {
      await registerServer('server-2', 'server-2');
      const seen = new Set<string>();
      await waitFor('both instances to answer', async () => {
        const r = await call(upstreamPort);
        if (r.ok) seen.add(r.body);
        return seen.has('server-1') && seen.has('server-2');
      }, { timeoutMs: 30_000, intervalMs: 20 });
      const serverCluster = healthyServerEndpoints(await clientEnvoy.admin('/clusters'));
      assert.equal(serverCluster.length, 2, `client sidecar's endpoints for server:\n${serverCluster.join('\n')}`);
    });

    it('a CA root rotation delivers new certificates to every sidecar while calls keep succeeding', async () => {
      const leafSerials = async (e: EnvoyProcess) => (await e.adminJson<CertsDump>('/certs')).certificates.flatMap((c) => c.cert_chain.map((x) => x.serial_number)).join(',');
      const before = await Promise.all(envoys.map(leafSerials));
      const loop = new CallLoop(upstreamPort);
      try {
        // EC P-384 leaves after P-256 ones: also proves both sides agree on curves and TLS versions.
        await agent.api.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384 } });
        // Leaves are re-issued over a jitter window (30 s at the least), so wait for all of them.
        await waitFor('every sidecar to hold a leaf under the new root', async () => {
          const now = await Promise.all(envoys.map(leafSerials));
          return now.every((s, i) => s !== before[i]);
        }, { timeoutMs: 60_000, intervalMs: 500 });
        const n = loop.results.length;
        await waitFor('calls after the rotation', () => loop.results.length >= n + 10, { timeoutMs: 10_000 });
      } finally {
        await loop.stop();
      }
      const ssl = async (e: EnvoyProcess) => JSON.stringify(Object.fromEntries([...(await e.stats('ssl\\.(fail|connection_error)')).entries()].filter(([, v]) => v > 0)));
      assert.deepEqual(loop.failures(), [], `calls failed during the rotation (${loop.failures().length} of ${loop.results.length}); client sidecar TLS errors ${await ssl(clientEnvoy)}; server sidecar ${await ssl(serverEnvoy)}`);
      const roots = (await agent.api.get('/v1/connect/ca/roots')) as { Roots: unknown[] };
      assert.equal(roots.Roots.length, 2, 'both roots are published while old leaves may still be in use');
    });

    it('restarting Switchyard does not interrupt traffic and the reconnect sends only differences', async () => {
      // Envoy skips a resent Cluster or Listener identical to the one it has, so the *_modified
      // counters alone do not see a full resend; update_success counts every CDS/LDS response it accepts.
      const counters = '^cluster_manager\\.(cds\\.update_success|cluster_modified|cluster_added|cluster_removed)$|^listener_manager\\.(lds\\.update_success|listener_modified|listener_added|listener_removed)$';
      const beforeStats = await clientEnvoy.stats(counters);
      const loop = new CallLoop(upstreamPort);
      try {
        await agent.stop('SIGTERM');
        await waitFor('the client sidecar to notice', async () => (await clientEnvoy.stats('^control_plane\\.connected_state$')).get('control_plane.connected_state') === 0, { timeoutMs: 10_000 });
        await agent.launch();
        await waitFor('the client sidecar to reconnect', async () => (await clientEnvoy.stats('^control_plane\\.connected_state$')).get('control_plane.connected_state') === 1, { timeoutMs: 30_000, intervalMs: 200 });
        const n = loop.results.length;
        await waitFor('calls after the reconnect', () => loop.results.length >= n + 5, { timeoutMs: 10_000 });
      } finally {
        await loop.stop();
      }
      assert.deepEqual(loop.failures(), [], `calls failed across the restart (${loop.failures().length} of ${loop.results.length})`);
      // Being connected again says nothing about what the reconnect sent, or whether Envoy has
      // applied it yet. An endpoint change made now travels the same stream after anything the
      // reconnect sent (Clusters go before Endpoints): once Envoy shows it, the counters are final.
      await agent.api.put('/v1/agent/service/deregister/server-2');
      await waitFor('the client sidecar to drop server-2', async () => healthyServerEndpoints(await clientEnvoy.admin('/clusters')).length === 1, { timeoutMs: 10_000 });
      assert.deepEqual(Object.fromEntries(await clientEnvoy.stats(counters)), Object.fromEntries(beforeStats), 'the reconnect sent clusters or listeners that had not changed');
    });
  });
}
