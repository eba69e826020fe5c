// Per-proxy reactive snapshots (rxjs): a table of proxy kinds, one module per kind.
export { buildConnectProxySnapshot, type ConnectProxyInputs } from './connect-proxy.js';
export { DEFAULT_COALESCE_MS, PROXY_KINDS, type PipelineDeps } from './kinds.js';
export { buildMeshGatewaySnapshot, type MeshGatewayInputs } from './mesh-gateway.js';
export { buildTerminatingGatewaySnapshot, withLinkedServices, type TerminatingGatewayInputs } from './terminating-gateway.js';
export { ProxyConfigManager, proxySnapshots, type ProxyState } from './manager.js';
export { SharedCASource, SharedCatalogSource, WatchCache } from './shared.js';
export type { ConnectProxySnapshot, GatewayListenerAddress, GatewayLocalService, GatewayRemoteDatacenter, IntentionSource, MeshGatewaySnapshot, ProxyKind, ProxySnapshot, SnapshotOf, TerminatingGatewaySnapshot, UpstreamEndpoint, UpstreamShape, UpstreamSnapshot } from './snapshot.js';
export type { CASource, CatalogSource } from './sources.js';
