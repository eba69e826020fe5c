// The agent's composition: store, catalog, check runner and HTTP API, started in-process (by
// the `agent` command, tests and the later xDS/CA integration) and closed gracefully.
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { agentRoutes } from '../api/agent.js';
import { caRoutes } from '../api/ca.js';
import { catalogRoutes } from '../api/catalog.js';
import { configRoutes } from '../api/config.js';
import { withConfigDryRun } from '../api/config-dry-run.js';
import { agentSelfRoutes } from '../api/agent-self.js';
import { Federation } from '../api/federation/federation.js';
import { federate } from '../api/federation/forward.js';
import { federationRoutes } from '../api/federation/routes.js';
import { WanLink, type Backoff } from '../api/federation/wan-link.js';
import { intentionRoutes } from '../api/intentions.js';
import { metricsRoutes } from '../api/metrics.js';
import { aclRoutes } from '../api/acl.js';
import { AclStore } from '../acl/acl-store.js';
import type { AclGuard } from '../api/acl-guard.js';
import { TokenResolver } from '../acl/resolve.js';
import type { Route } from '../api/route.js';
import { ApiServer } from '../api/server.js';
import { statusRoutes } from '../api/status.js';
import { xdsStatusRoutes } from '../api/xds-status.js';
import { CAService } from '../ca/ca-service.js';
import { LeafManager } from '../ca/leaf-manager.js';
import { HttpPrimaryCA } from '../ca/primary-http.js';
import { storeCAState } from '../ca/store-state.js';
import { Catalog } from '../catalog/catalog.js';
import { networkProbes, type Probes } from '../catalog/checks/probes.js';
import { CheckRunner } from '../catalog/checks/runner.js';
import { systemClock, type Clock } from '../core/clock.js';
import { nullLogger, type Logger } from '../core/logger.js';
import { ProxyConfigManager } from '../proxycfg/manager.js';
import { proxylessSnapshots } from '../proxycfg/proxyless.js';
import { startXdsServer, XdsStatusRegistry, type XdsServer } from '../server/index.js';
import { openStore, type SqliteStore } from '../store/sqlite.js';
import { httpRemoteCatalog } from './remote-catalog.js';
import { hostInfo } from './host-info.js';
import { packageVersion } from './version.js';
import { agentMetrics } from './agent-metrics.js';
import { configDryRun } from './dry-run.js';
import { proxyInspector } from './proxy-inspect.js';
import { meshResourceSource } from './xds-source.js';
import { checkFederation, DEFAULT_SHUTDOWN_GRACE_MS, type AgentConfig } from './agent-config.js';
import { agentTlsListeners, exposureWarning } from './agent-tls.js';

export interface AgentDeps {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly probes?: Probes;
  /** More route lists (for example the CA's), served next to the catalog's. */
  readonly routes?: readonly (readonly Route[])[];
  /** The WAN link's retry backoff (a secondary's; default DEFAULT_BACKOFF). */
  readonly wanBackoff?: Backoff;
  /** A secondary's retries of the primary's CA: first and largest wait (250 ms and 30 s by default). */
  readonly primaryBackoff?: { readonly baseMs: number; readonly maxMs: number };
}

export interface Agent {
  readonly config: AgentConfig;
  readonly store: SqliteStore;
  readonly catalog: Catalog;
  readonly http: ApiServer;
  readonly checks: CheckRunner;
  readonly ca: CAService;
  readonly leaves: LeafManager;
  readonly xds: XdsServer;
  /** This datacenter among the others: a secondary's link to the primary is `federation.link`. */
  readonly federation: Federation;
  /** ACL tokens, policies and roles, and whether they are enforced (on every HTTP route, by its `acl` rule). */
  readonly acl: AclGuard & { readonly store: AclStore };
  /** The bound HTTP address, `host:port` (the real port when configured with 0); the HTTPS one when plain HTTP is off. */
  readonly httpAddress: string;
  /** The bound HTTPS address, when ports.https is on. */
  readonly httpsAddress?: string;
  /**
   * Shuts down, bounded by the grace period (the configured one unless given): intake stops at
   * once (health checks, new connections, new requests, blocking queries, xDS streams), replies
   * in flight get until the grace period ends (or `cut` aborts), then the store is drained and closed.
   */
  close(opts?: { readonly graceMs?: number; readonly cut?: AbortSignal }): Promise<ShutdownReport>;
}

export interface ShutdownReport {
  /** Requests still in flight when the grace period ended (their connections were cut). */
  readonly cutRequests: number;
}

/** A host for a URL or `host:port`: IPv6 in brackets. */
function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<Agent> {
  const logger = deps.logger ?? nullLogger;
  const clock = deps.clock ?? systemClock;
  checkFederation(config);
  const store = openStore(config.dataDir, { acceptLoss: config.acceptStoreLoss });
  if (store.loaded.recovered) logger.warn({ path: store.loaded.path, recovered: store.loaded.recovered }, 'started from a damaged data dir (-accept-store-loss)');
  for (const r of store.unservable()) {
    logger.error({ table: r.table, key: r.key, reason: r.reason }, 'stored record cannot be served; reads of it answer 500 and lists leave it out until it is replaced or deleted');
  }
  let address: AddressInfo | undefined;
  /** Bound when ports.https is on; this agent's address when plain HTTP is off. */
  let httpsAddress: AddressInfo | undefined;
  // Another datacenter's sidecars are asked of this agent's own API with ?dc=, which it forwards.
  const ownAddress = () => `${formatHost(config.bind)}:${address?.port ?? httpsAddress?.port ?? config.httpPort}`;
  // The agent's own calls (to itself, the primary, other datacenters) carry acl.tokens.agent.
  const agentToken = config.acl?.tokens?.agent;
  const remote = httpRemoteCatalog({ baseUrl: () => `http://${ownAddress()}`, logger, token: agentToken });
  const catalogOptions = { datacenter: config.datacenter, node: config.node, defaultIntentionPolicy: config.defaultIntentionPolicy, clock, remote };
  const catalog = new Catalog(store, catalogOptions);
  await catalog.registerNode(config.bind, { ...config.nodeMeta }, config.nodeId);
  await catalog.registerAgentHealth();
  const acls = new AclStore(store, clock);
  await acls.ensureBuiltins();
  const aclGuard: AclGuard = {
    enabled: config.acl?.enabled ?? false,
    resolver: new TokenResolver(acls, { datacenter: config.datacenter, defaultPolicy: config.acl?.defaultPolicy ?? 'allow', clock }),
    defaultToken: config.acl?.tokens?.default,
  };
  const checks = new CheckRunner(catalog, { clock, probes: deps.probes ?? networkProbes, logger });
  const { primaryDatacenter } = config;
  const primaryAddress = config.retryJoinWan[0];
  const primary = primaryDatacenter !== config.datacenter && primaryAddress ? new HttpPrimaryCA({ address: primaryAddress, clock, token: agentToken, backoffBaseMs: deps.primaryBackoff?.baseMs, backoffMaxMs: deps.primaryBackoff?.maxMs }) : undefined;
  const ca = new CAService({ store: storeCAState(store), clock, logger, datacenter: config.datacenter, primaryDatacenter, primary, newClusterId: config.caClusterId ? () => config.caClusterId ?? '' : undefined });
  await ca.start();
  logger.info({ path: store.loaded.path, index: store.loaded.index, rows: store.loaded.rows, trustDomain: ca.trustDomain }, 'store loaded');
  const xdsStatus = new XdsStatusRegistry();
  const meters = agentMetrics({ clock, status: xdsStatus, roots: () => ca.roots(), hostname: hostname() });
  store.observeCommits(meters.storeCommit, meters.now);
  const leaves = new LeafManager({ ca: meters.meteredIssuer(ca), clock, logger, reissueJitterMs: config.leafReissueJitterMs });
  const secondary = config.primaryDatacenter !== config.datacenter;
  const link = secondary
    ? new WanLink({ primaryDatacenter: config.primaryDatacenter, addresses: config.retryJoinWan, clock, logger: logger.child({ component: 'wan' }), backoff: deps.wanBackoff, token: agentToken })
    : undefined;
  if (secondary && aclGuard.enabled && !agentToken) logger.warn({ primaryDatacenter: config.primaryDatacenter }, 'ACLs are enabled and acl.tokens.agent is not set: the primary refuses this datacenter\'s link (replication, federation states and the CA need a token with operator = "write")');
  if (!secondary && config.retryJoinWan.length > 0) logger.info({ retryJoinWan: config.retryJoinWan }, 'retry_join_wan is not used in the primary datacenter: secondaries tell it their addresses');
  const federation = new Federation({ catalog, primaryDatacenter: config.primaryDatacenter, link, httpAddress: ownAddress, logger: logger.child({ component: 'federation' }) });
  const exposeCheckPorts = config.exposeCheckPorts ? { exposeCheckPorts: config.exposeCheckPorts } : {};
  const proxies = new ProxyConfigManager({ catalog, ca: leaves, ...exposeCheckPorts });
  const http = new ApiServer({
    logger: logger.child({ component: 'http' }),
    maxBodyBytes: config.httpMaxBodyBytes,
    acl: aclGuard,
    routes: federate([
      agentRoutes(catalog),
      catalogRoutes(catalog),
      withConfigDryRun(configRoutes(catalog), configDryRun({ store, catalog, catalogOptions, proxies, leaves, ...exposeCheckPorts })),
      intentionRoutes(catalog),
      caRoutes({ ca, leaves, checkIntention: (src, dst) => catalog.check(src, dst), clock }),
      xdsStatusRoutes(xdsStatus, proxyInspector({ proxies, status: xdsStatus, registration: (id) => catalog.watchService(id) })),
      statusRoutes(ownAddress),
      metricsRoutes(meters.metrics, clock, config.node),
      agentSelfRoutes(catalog, {
        datacenter: config.datacenter,
        primaryDatacenter: config.primaryDatacenter,
        node: config.node,
        bind: config.bind,
        httpPort: () => address?.port ?? config.httpPort,
        grpcPort: () => xdsPort ?? config.grpcPort,
        httpsPort: () => httpsAddress?.port ?? config.httpsPort ?? -1,
        grpcTlsPort: () => xdsTlsPort ?? config.grpcTlsPort ?? -1,
        version: packageVersion(),
        host: hostInfo(clock, config.dataDir),
      }),
      federationRoutes(catalog, federation),
      aclRoutes({ acls, guard: aclGuard }),
      ...(deps.routes ?? []),
    ], federation),
  });
  const source = meshResourceSource({
    proxies,
    proxyless: proxylessSnapshots(catalog, leaves, { datacenter: config.datacenter }),
    logger: logger.child({ component: 'proxycfg' }),
    acl: aclGuard,
    registration: (id) => catalog.watchService(id),
  });
  let xds: XdsServer;
  let xdsPort: number | undefined;
  let xdsTlsPort: number | undefined;
  let tls: Awaited<ReturnType<typeof agentTlsListeners>> | undefined;
  try {
    tls = await agentTlsListeners(config, { ca, clock, logger });
    if (config.httpPort >= 0) address = await http.listen(config.httpPort, config.bind);
    if (tls.https) httpsAddress = await http.listen(config.httpsPort ?? -1, config.bind, tls.https);
    xds = await startXdsServer({ source, logger, status: xdsStatus, metrics: meters.xds, host: config.bind, port: config.grpcPort, tls: tls.grpc && { port: config.grpcTlsPort ?? -1, listener: tls.grpc }, limits: { maxStreams: config.xdsMaxStreams } });
    xdsPort = xds.port;
    xdsTlsPort = xds.tlsPort;
  } catch (err) {
    tls?.stop();
    federation.close();
    await http.close().catch(() => undefined);
    leaves.stop();
    await ca.stop();
    store.close();
    throw err;
  }
  const warning = exposureWarning(config);
  if (warning) logger.warn({ bind: config.bind }, warning);
  checks.start();
  federation.start();
  const shown = (address ?? httpsAddress) as AddressInfo;
  const host = formatHost(shown.address);
  let closing: Promise<ShutdownReport> | undefined;
  return {
    config,
    store,
    catalog,
    http,
    checks,
    ca,
    leaves,
    xds,
    federation,
    acl: { ...aclGuard, store: acls },
    httpAddress: `${host}:${shown.port}`,
    ...(httpsAddress && { httpsAddress: `${formatHost(httpsAddress.address)}:${httpsAddress.port}` }),
    close(opts = {}) {
      closing ??= (async () => {
        checks.stop();
        federation.close();
        const xdsClosed = xds.close();
        const cutRequests = await http.close({ graceMs: opts.graceMs ?? config.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS, cut: opts.cut });
        await xdsClosed;
        tls?.stop();
        leaves.stop();
        await ca.stop();
        // What a cut request had started to write still commits (or fails) before the store closes.
        await store.drain();
        store.close();
        return { cutRequests };
      })();
      return closing;
    },
  };
}
