// The ADS server's public surface for the composition root and the HTTP API.
export { DEFAULT_XDS_LIMITS, type XdsStreamLimits } from './admission.js';
export { startXdsServer, type XdsServer, type XdsServerOptions } from './server.js';
export { NOT_REGISTERED, Waiting, type PendingResourceSet, type ProxyResourceSource } from './source.js';
export { XdsStatusRegistry, type NackStatus, type ProxyXdsStatus, type StreamStatus, type TypeStatus } from './status.js';
