// Real traffic through generated config: two sidecar Envoys run the resources Switchyard
// generates (delivered statically here; the ADS server delivers the same bytes), and a client
// talks to an app through web's upstream listener -> mutual TLS with SPIFFE SAN checks -> db's
// public listener -> its intentions (RBAC) -> the app. Intentions decide who gets through.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Protocol } from '../../src/catalog/types.js';
import type { Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ConfigEntryOf, Intention, ServiceInstance } from '../../src/catalog/types.js';
import { buildConnectProxySnapshot, type ConnectProxyInputs } from '../../src/proxycfg/connect-proxy.js';
import { defaultTargetInputs } from '../../src/proxycfg/upstreams.js';
import { generateResources } from '../../src/xds/generate.js';
import { intention } from '../proxycfg/marble-sources.js';
import type { EnvoyProcess } from '../support/envoy.js';
import { TEST_TRUST_DOMAIN, testLeaf, testRoots } from '../support/fixed-ca.js';
import { roundTrip, startEcho, startSidecarEnvoy } from '../support/traffic.js';
import { freePort } from '../support/wait.js';

interface Sidecar {
  readonly service: string;
  readonly publicPort: number;
  readonly localPort: number;
  readonly upstreams: readonly { readonly name: string; readonly bindPort: number; readonly targetPort: number; readonly protocol?: Protocol }[];
  readonly intentions: readonly Intention[];
  /** The service's protocol (its service-defaults); tcp when absent. */
  readonly protocol?: Protocol;
}

function serviceDefaults(name: string, protocol: Protocol | undefined): ConfigEntryOf<'service-defaults'> | undefined {
  return protocol ? { Kind: 'service-defaults', Name: name, Protocol: protocol, CreateIndex: 1, ModifyIndex: 1 } : undefined;
}

function sidecarInputs(s: Sidecar): ConnectProxyInputs {
  const proxy: ServiceInstance = {
    ID: `${s.service}-sidecar-proxy`,
    Service: `${s.service}-sidecar-proxy`,
    Kind: 'connect-proxy',
    Tags: [],
    Meta: {},
    Address: '127.0.0.1',
    Port: s.publicPort,
    Namespace: 'default',
    Datacenter: 'dc1',
    Node: 'node-1',
    Proxy: {
      DestinationServiceName: s.service,
      LocalServicePort: s.localPort,
      Config: { bind_address: '127.0.0.1' },
      Upstreams: s.upstreams.map((u) => ({ DestinationName: u.name, LocalBindPort: u.bindPort })),
    },
    CreateIndex: 1,
    ModifyIndex: 1,
  };
  return {
    proxy,
    roots: testRoots(),
    leaf: testLeaf(s.service),
    intentions: s.intentions,
    defaultIntentionPolicy: 'deny',
    proxyDefaults: undefined,
    serviceDefaults: serviceDefaults(s.service, s.protocol),
    upstreams: s.upstreams.map((u, index) => ({
      upstream: proxy.Proxy!.Upstreams![index]!,
      index,
      serviceDefaults: serviceDefaults(u.name, u.protocol),
      ...defaultTargetInputs(u.name, 'dc1', [
        {
          Node: { ID: 'n', Node: 'node-1', Address: '127.0.0.1', Datacenter: 'dc1', Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
          Service: { ...proxy, ID: `${u.name}-sidecar-proxy`, Service: `${u.name}-sidecar-proxy`, Port: u.targetPort },
          Checks: [],
        },
      ]),
    })),
  };
}

async function startSidecar(s: Sidecar): Promise<EnvoyProcess> {
  const snap = buildConnectProxySnapshot(sidecarInputs(s));
  assert.deepEqual(snap.issues, []);
  return startSidecarEnvoy(snap, generateResources(snap));
}

describe('sidecars running generated config carry real traffic', () => {
  let echo: Server;
  const envoys: EnvoyProcess[] = [];
  let toDb = 0;
  let toCache = 0;
  let toImpostor = 0;
  let toApi = 0;
  let http: HttpServer;

  before(async () => {
    const app = await startEcho();
    echo = app.server;
    const appPort = app.port;
    const [dbPublic, cachePublic, webPublic, webApp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    [toDb, toCache, toImpostor, toApi] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // api speaks HTTP: its public listener runs an HTTP connection manager, web's api upstream uses RDS.
    http = createHttpServer((req, res) => {
      // The caller's identity, as the public listener forwards it (x-forwarded-client-cert URI=...).
      const caller = /URI=([^;,]+)/.exec(String(req.headers['x-forwarded-client-cert'] ?? ''))?.[1] ?? 'nobody';
      res.end(`api saw ${req.method} ${req.url} from ${caller}`);
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const apiPublic = await freePort();
    envoys.push(await startSidecar({ service: 'api', publicPort: apiPublic, localPort: (http.address() as { port: number }).port, upstreams: [], intentions: [intention('web', 'api')], protocol: 'http' }));
    // db allows web; cache has no intentions (default deny). Both front the same echo app.
    envoys.push(await startSidecar({ service: 'db', publicPort: dbPublic, localPort: appPort, upstreams: [], intentions: [intention('web', 'db')] }));
    envoys.push(await startSidecar({ service: 'cache', publicPort: cachePublic, localPort: appPort, upstreams: [], intentions: [] }));
    envoys.push(
      await startSidecar({
        service: 'web',
        publicPort: webPublic,
        localPort: webApp,
        upstreams: [
          { name: 'db', bindPort: toDb, targetPort: dbPublic },
          { name: 'cache', bindPort: toCache, targetPort: cachePublic },
          // An endpoint for billing that is really cache's sidecar: it presents cache's identity.
          { name: 'billing', bindPort: toImpostor, targetPort: cachePublic },
          { name: 'api', bindPort: toApi, targetPort: apiPublic, protocol: 'http' },
        ],
        intentions: [],
      }),
    );
  });

  const [cache, web] = [() => envoys[2]!, () => envoys[3]!];

  after(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    echo?.close();
    http?.close();
  });

  it('web reaches db over mutual TLS when an intention allows it', async () => {
    assert.equal(await roundTrip(toDb, 'hello db'), 'echo hello db\n');
    const stats = await web().stats('ssl\\.handshake$');
    assert.ok([...stats.values()].some((v) => v > 0), `no TLS handshake counted by web's sidecar: ${JSON.stringify([...stats])}`);
  });

  it('web is refused by cache, whose default policy denies and has no intention for web', async () => {
    assert.equal(await roundTrip(toCache, 'hello cache'), '');
    const denied = await cache().stats('rbac\\.denied$');
    assert.ok([...denied.values()].reduce((a, b) => a + b, 0) > 0, `cache's RBAC denied nothing: ${JSON.stringify([...denied])}`);
  });

  it("web refuses a peer whose certificate is not the upstream's SPIFFE identity", async () => {
    assert.equal(await roundTrip(toImpostor, 'hello billing'), '');
    const san = await web().stats('^cluster\\.billing\\..*ssl\\.fail_verify_san$');
    assert.ok([...san.values()].some((v) => v > 0), `web's billing cluster counted no SAN failure: ${JSON.stringify([...san])}`);
  });

  it('web reaches an HTTP service through its RDS-routed upstream listener and the HTTP public listener', async () => {
    const res = await fetch(`http://127.0.0.1:${toApi}/orders?id=7`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `api saw GET /orders?id=7 from spiffe://${TEST_TRUST_DOMAIN}/ns/default/dc/dc1/svc/web`);
    const rq = await web().stats('^http\\.upstream\\.api\\..*downstream_rq_2xx$');
    assert.ok([...rq.values()].some((v) => v > 0), `web's api listener counted no 2xx: ${JSON.stringify([...rq])}`);
  });
});
