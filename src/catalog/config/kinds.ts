// Every config entry kind and its schema; one place to validate an entry by its Kind.
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { consulDecode } from '../../core/consul-decode.js';
import { parseInput } from '../../core/validate.js';
import { serviceIntentionsSchema } from '../intentions/schema.js';
import { meshSchema, proxyDefaultsSchema, serviceDefaultsSchema } from './defaults.js';
import { ingressGatewaySchema, terminatingGatewaySchema } from './gateways.js';
import { serviceResolverSchema, serviceRouterSchema, serviceSplitterSchema } from './routing.js';

export const CONFIG_SCHEMAS = {
  'proxy-defaults': proxyDefaultsSchema,
  'service-defaults': serviceDefaultsSchema,
  'service-intentions': serviceIntentionsSchema,
  'service-router': serviceRouterSchema,
  'service-splitter': serviceSplitterSchema,
  'service-resolver': serviceResolverSchema,
  mesh: meshSchema,
  'ingress-gateway': ingressGatewaySchema,
  'terminating-gateway': terminatingGatewaySchema,
} as const;

export type ConfigKind = keyof typeof CONFIG_SCHEMAS;
export const CONFIG_KINDS = Object.keys(CONFIG_SCHEMAS) as ConfigKind[];

export function checkKind(kind: unknown, field = 'Kind'): ConfigKind {
  if (typeof kind !== 'string' || kind === '') throw ValidationError.of(field, 'must be set to a config entry kind');
  // Own keys only: `in` also finds Object.prototype's members (constructor, toString, __proto__).
  if (!Object.hasOwn(CONFIG_SCHEMAS, kind)) throw ValidationError.of(field, `unknown config entry kind "${kind}" (expected one of ${CONFIG_KINDS.join(', ')})`);
  return kind as ConfigKind;
}

/** An entry of kind `K` as its schema defines it (without its indexes). */
export type EntryOf<K extends ConfigKind> = z.infer<(typeof CONFIG_SCHEMAS)[K]>;

/** A validated entry without its indexes, ready to store: one of the kinds' schema types. */
export type ValidEntry = { [K in ConfigKind]: EntryOf<K> }[ConfigKind];

export function validateConfigEntry(input: unknown): ValidEntry {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw ValidationError.of('', 'the body must be a JSON object (a config entry)');
  // Go's decoder matches `Kind` (and every field) ignoring case, as Consul's agent decodes it.
  const kindKey = Object.keys(input).find((k) => k.toLowerCase() === 'kind');
  const kind = checkKind(kindKey === undefined ? undefined : (input as Record<string, unknown>)[kindKey]);
  const schema = CONFIG_SCHEMAS[kind];
  const entry = parseInput(schema as z.ZodType<ValidEntry>, consulDecode(schema, input), `invalid ${kind} config entry`);
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = entry as ValidEntry & { CreateIndex?: number; ModifyIndex?: number };
  return rest as ValidEntry;
}
