// What datacenters tell each other: a federation state (Consul's shape: a datacenter's mesh
// gateways with their checks, and when it was sent), checked strictly when a secondary sends its
// own to the primary; and the address a secondary's HTTP API is reached at, a separate record
// (Consul's federation state has no such field: its servers find each other by serf).
import { z } from 'zod';
import { META_MAX_VALUE_BYTES, serviceMeta, storedNodeMeta } from './meta.js';
import { IDENTIFIER_MAX_CHARS, label, port } from './config/common.js';
import { locality } from './services/schema.js';
import { taggedAddresses } from './services/tagged-addresses.js';
import type { CheckServiceNode, FederationState } from './types.js';

/** The most mesh gateways one datacenter may report. */
export const FEDERATION_MAX_GATEWAYS = 256;
const MAX_CHECKS = 64;
const MAX_TAGS = 64;

const id = label(IDENTIFIER_MAX_CHARS);
const index = z.number().int('must be an integer').min(0, 'must not be negative');
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const datacenterName = z
  .string()
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/, 'must be letters, digits, ".", "-" or "_"');
const opaqueObject = z.record(z.string(), z.unknown());

const nodeSchema = z.strictObject({
  ID: id,
  Node: id.min(1, 'must not be empty'),
  Address: id,
  Datacenter: datacenterName,
  // The node's own addresses by tag (`lan`, `wan`, `lan_ipv4`, ...), as a Consul agent tags them.
  TaggedAddresses: z.record(label(128), id).optional(),
  Meta: storedNodeMeta,
  Locality: locality.optional(),
  CreateIndex: index,
  ModifyIndex: index,
});

const serviceSchema = z.strictObject({
  ID: id.min(1, 'must not be empty'),
  Service: id.min(1, 'must not be empty'),
  Kind: z.literal('mesh-gateway', 'must be "mesh-gateway": a federation state lists mesh gateways only'),
  Tags: z.array(text(512)).max(MAX_TAGS, `must hold at most ${MAX_TAGS} tags`),
  Meta: serviceMeta,
  Address: id,
  Port: port,
  TaggedAddresses: taggedAddresses.optional(),
  Namespace: id,
  Datacenter: datacenterName,
  Node: id.min(1, 'must not be empty'),
  Proxy: opaqueObject.optional(),
  Connect: z.strictObject({ Native: z.boolean().optional() }).optional(),
  EnableTagOverride: z.boolean().optional(),
  Locality: locality.optional(),
  CreateIndex: index,
  ModifyIndex: index,
});

const checkSchema = z.strictObject({
  Node: id,
  CheckID: id.min(1, 'must not be empty'),
  Name: id,
  Status: z.enum(['passing', 'warning', 'critical']),
  Notes: text(META_MAX_VALUE_BYTES * 8),
  Output: text(64 * 1024),
  ServiceID: id,
  ServiceName: id,
  Type: id,
  Definition: opaqueObject.optional(),
  CreateIndex: index,
  ModifyIndex: index,
});

const checkServiceNode = z.strictObject({
  Node: nodeSchema,
  Service: serviceSchema,
  Checks: z.array(checkSchema).max(MAX_CHECKS, `must hold at most ${MAX_CHECKS} checks`),
});

export const federationStateSchema = z.strictObject({
  Datacenter: datacenterName,
  MeshGateways: z.array(checkServiceNode).max(FEDERATION_MAX_GATEWAYS, `must hold at most ${FEDERATION_MAX_GATEWAYS} mesh gateways`),
  UpdatedAt: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time, such as "2026-12-03T12:00:00Z"' }),
});

/** What a secondary sends the primary: its state, and where its HTTP API is reached (for `?dc=`). */
export const federationStateUpdateSchema = z.strictObject({
  State: federationStateSchema,
  HTTPAddress: z
    .string()
    .max(256, 'must be at most 256 characters')
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, 'must be host:port'),
});

export type FederationStateUpdate = z.output<typeof federationStateUpdateSchema>;

/** Where a datacenter's HTTP API was last reached from, as that datacenter told it. */
export interface WanAddress {
  readonly Datacenter: string;
  readonly HTTPAddress: string;
  readonly UpdatedAt: string;
}

/** Whether two states tell the same (their gateways, checks included), whenever they were sent. */
export function sameGateways(a: Pick<FederationState, 'MeshGateways'> | undefined, b: readonly CheckServiceNode[]): boolean {
  return a !== undefined && JSON.stringify(a.MeshGateways) === JSON.stringify(b);
}
