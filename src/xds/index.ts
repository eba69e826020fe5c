// The xDS generators: pure functions of a snapshot (no I/O, clock, randomness or logging).
export { generateBootstrap, TOKEN_METADATA_KEY, type BootstrapOptions } from './bootstrap.js';
export { ResourceInterner, sharedInterner, versionOf } from './encode.js';
export { clusterLoadAssignment } from './endpoints.js';
export { CONNECT_PROXY_RESOURCES, generateResources, RESOURCE_TABLES, tryGenerateResources, type GenerateContext, type GenerateResult } from './generate.js';
export { builtRow, sharedRow, type BuiltRow, type ResourceTable, type RowInputs, type SharedRow, type TableRow } from './resource-table.js';
export { MESH_GATEWAY_RESOURCES } from './mesh-gateway.js';
export { leafSecret, rootsSecret } from './secrets.js';
