// Per-proxy reactive snapshots (rxjs), one module per proxy kind.
export { connectProxySnapshots, DEFAULT_COALESCE_MS, type ConnectProxyDeps } from './connect-proxy.js';
export { ProxyConfigManager } from './manager.js';
export { buildConnectProxySnapshot, type SnapshotInputs } from './resolve.js';
export { SharedCASource, SharedCatalogSource, WatchCache } from './shared.js';
export type { ConnectProxySnapshot, UpstreamEndpoint, UpstreamSnapshot } from './snapshot.js';
export type { CASource, CatalogSource } from './sources.js';
