// The service-intentions config entry: every intention towards one destination (or `*`).
import { z } from 'zod';
import { duplicates, entryBase, issue, namespace, notSupportedYet, partition, serviceNameOrWildcard } from '../config/common.js';
import { meta, metaValueString } from '../meta.js';
import { HTTP_METHODS, headerMatch, onlyOne } from '../config/routing.js';

export const intentionAction = z.enum(['allow', 'deny']);

const permission = z.strictObject({
  Action: intentionAction,
  HTTP: z
    .strictObject({
      PathExact: z.string().startsWith('/', 'must begin with "/"').optional(),
      PathPrefix: z.string().startsWith('/', 'must begin with "/"').optional(),
      PathRegex: z.string().optional(),
      Header: z.array(headerMatch).optional(),
      Methods: z.array(z.enum(HTTP_METHODS)).optional(),
    })
    .superRefine((v, ctx) => {
      onlyOne(ctx, v, ['PathExact', 'PathPrefix', 'PathRegex'], 'one path match per permission');
      for (const i of duplicates(v.Methods ?? [], (m) => m)) issue(ctx, ['Methods', i], 'is listed more than once');
    })
    .optional(),
});

export const intentionSource = z
  .strictObject({
    Name: serviceNameOrWildcard,
    Namespace: namespace.optional(),
    Partition: partition.optional(),
    // Refused rather than ignored: a peer's or sameness group's "web" is not the local "web", and
    // an intention applied as if it were would decide for the wrong service.
    Peer: notSupportedYet('cluster peering').optional(),
    SamenessGroup: notSupportedYet('sameness groups').optional(),
    Action: intentionAction.optional(),
    Permissions: z.array(permission).optional(),
    // Computed; accepted (and ignored) when a client echoes an entry it read.
    Precedence: z.number().optional(),
    // Consul's only source type; sent empty (or left out) by its CLI and API client.
    Type: z.enum(['', 'consul'], { error: 'must be "consul" (or empty)' }).optional(),
    Description: metaValueString.optional(),
    LegacyID: z.string().optional(),
    LegacyMeta: meta.optional(),
    LegacyCreateTime: z.string().optional(),
    LegacyUpdateTime: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.Action && s.Permissions?.length) issue(ctx, ['Action'], 'cannot be set together with Permissions');
    if (!s.Action && !s.Permissions?.length) issue(ctx, ['Action'], 'must be "allow" or "deny" when Permissions is empty');
  });

export const serviceIntentionsSchema = z
  .strictObject({
    ...entryBase('service-intentions'),
    Name: serviceNameOrWildcard,
    Sources: z.array(intentionSource).optional(),
    JWT: notSupportedYet('JWT authentication (jwt-provider) is not built').optional(),
  })
  .superRefine((v, ctx) => {
    for (const i of duplicates(v.Sources ?? [], (s) => s.Name)) issue(ctx, ['Sources', i, 'Name'], 'is listed more than once');
  });

export type ServiceIntentionsEntry = z.output<typeof serviceIntentionsSchema>;
export type IntentionSource = z.output<typeof intentionSource>;
export type IntentionPermission = z.output<typeof permission>;

/** The body of PUT /v1/connect/intentions/exact. */
export const legacyIntentionBody = z.strictObject({
  SourceName: z.string().optional(),
  DestinationName: z.string().optional(),
  SourceNS: namespace.optional(),
  DestinationNS: namespace.optional(),
  SourceType: z.enum(['', 'consul'], { error: 'must be "consul" (or empty)' }).optional(),
  Action: intentionAction,
  Description: metaValueString.optional(),
  Meta: meta.optional(),
  ID: z.string().optional(),
  Precedence: z.number().optional(),
  CreateIndex: z.number().optional(),
  ModifyIndex: z.number().optional(),
  CreatedAt: z.string().optional(),
  UpdatedAt: z.string().optional(),
});
