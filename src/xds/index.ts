// The xDS generators: pure functions of a snapshot (no I/O, clock, randomness or logging).
export { generateBootstrap, TOKEN_METADATA_KEY, type BootstrapOptions } from './bootstrap.js';
export { generateClusters } from './clusters.js';
export { ResourceInterner, sharedInterner, versionOf } from './encode.js';
export { loadAssignment } from './endpoints.js';
export { CONNECT_PROXY_KINDS, generateResources, tryGenerateResources, type GenerateContext, type GenerateResult } from './generate.js';
export { generateListeners } from './listeners.js';
export { generateRoutes } from './routes.js';
export { leafSecret, rootsSecret } from './secrets.js';
