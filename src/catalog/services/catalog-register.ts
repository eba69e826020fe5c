// PUT /v1/catalog/register and /v1/catalog/deregister (Consul's low-level catalog API): a node,
// optionally a service on it and checks, written for any node (an external service, a node with
// no agent). Catalog checks are records with a status, not run by any agent. The service part is
// a registration of Consul's AgentService shape (`Service` is its name), checked like one.
import { z } from 'zod';
import { identifier, label } from '../config/common.js';
import { nodeMeta } from '../meta.js';
import { CATALOG_CHECK_FIELDS, CATALOG_DEREGISTRATION_FIELDS, CATALOG_REGISTRATION_FIELDS, shapeOf } from './consul-fields.js';
import { locality } from './schema.js';

const goDuration = z.union([z.string(), z.number()]);

/**
 * Consul's HealthCheckDefinition (what an agent would run), kept as given: no agent runs a
 * catalog check. The Go client sends every field, zero values included.
 */
const checkDefinitionRecord = z.strictObject({
  HTTP: z.string().optional(),
  Header: z.record(z.string(), z.array(z.string())).optional(),
  Method: z.string().optional(),
  Body: z.string().optional(),
  TLSServerName: z.string().optional(),
  TLSSkipVerify: z.boolean().optional(),
  TCP: z.string().optional(),
  TCPUseTLS: z.boolean().optional(),
  UDP: z.string().optional(),
  GRPC: z.string().optional(),
  GRPCUseTLS: z.boolean().optional(),
  OSService: z.string().optional(),
  SessionName: z.string().optional(),
  Interval: goDuration.optional(),
  Timeout: goDuration.optional(),
  DeregisterCriticalServiceAfter: goDuration.optional(),
  IntervalDuration: goDuration.optional(),
  TimeoutDuration: goDuration.optional(),
  DeregisterCriticalServiceAfterDuration: goDuration.optional(),
});

const catalogCheck = z.strictObject({
  Node: z.string().optional(),
  CheckID: identifier.optional(),
  ID: identifier.optional(),
  Name: label(256).refine((n) => n !== '', 'must not be empty'),
  Status: z.enum(['passing', 'warning', 'critical']).optional(),
  Notes: z.string().max(4096, 'must be at most 4096 characters').optional(),
  Output: z.string().max(65536, 'must be at most 65536 characters').optional(),
  // Empty for a check of the node itself, as Consul's clients send it.
  ServiceID: z.union([z.literal(''), identifier]).optional(),
  // Consul's check definition for an agent to run: kept by Consul, not run here (no agent owns the node).
  Definition: checkDefinitionRecord.optional(),
  ...shapeOf(CATALOG_CHECK_FIELDS),
});

export const catalogRegistrationSchema = z
  .strictObject({
    ID: z.string().optional(),
    Node: identifier,
    // Required unless SkipNodeUpdate leaves an existing node as it is (Consul's rule).
    Address: label(256).optional(),
    Datacenter: z.string().optional(),
    TaggedAddresses: z.record(label(128).refine((t) => t !== '', 'a tag must not be empty'), label(256)).optional(),
    NodeMeta: nodeMeta.optional(),
    Locality: locality.optional(),
    // The AgentService shape: checked as a registration once `Service` is read as its name.
    Service: z.record(z.string(), z.unknown()).optional(),
    Check: catalogCheck.optional(),
    Checks: z.array(catalogCheck).optional(),
    SkipNodeUpdate: z.boolean().optional(),
    ...shapeOf(CATALOG_REGISTRATION_FIELDS),
  })
  .superRefine((v, ctx) => {
    if (!v.Address && !v.SkipNodeUpdate) ctx.addIssue({ code: 'custom', path: ['Address'], message: 'must not be empty unless SkipNodeUpdate is set' });
    for (const [i, c] of [...(v.Check ? [v.Check] : []), ...(v.Checks ?? [])].entries()) {
      if (c.Node !== undefined && c.Node !== '' && c.Node !== v.Node) ctx.addIssue({ code: 'custom', path: [v.Check && i === 0 ? 'Check' : 'Checks', 'Node'], message: `must be the registered node "${v.Node}"` });
    }
  });

export type CatalogRegistration = z.output<typeof catalogRegistrationSchema>;
export type CatalogCheck = z.output<typeof catalogCheck>;

/** Empty is absent (Consul's Go client sends the zero value). */
const optionalId = z.union([z.literal(''), identifier]).optional().transform((v) => v || undefined);

export const catalogDeregistrationSchema = z.strictObject({
  Node: identifier,
  Datacenter: z.string().optional(),
  ServiceID: optionalId,
  CheckID: optionalId,
  ...shapeOf(CATALOG_DEREGISTRATION_FIELDS),
});

/** An AgentService body as a registration body: `Service` is its name (Consul's field). */
export function serviceAsRegistration(service: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { Service: name, ...rest } = service;
  return { ...rest, ...(name === undefined ? {} : { Name: name }) };
}
