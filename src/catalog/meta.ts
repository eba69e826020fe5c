// `Meta` maps, bounded as Consul bounds them, in one schema used wherever Meta appears. Consul
// (agent/structs) takes at most 64 pairs, keys up to 128 bytes and values up to 512 bytes
// everywhere; for services and nodes it also takes keys of letters, digits, "-" and "_" only,
// and keeps the prefix "consul-" for itself (a mesh gateway may set "consul-wan-federation").
// Config entries and intentions carry the size bounds only. The pair count is checked before
// any pair, so a map of thousands of pairs costs one issue, not thousands.
import { z } from 'zod';

/** The Consul version whose HTTP API Switchyard follows (its agent node's `consul-version`). */
export const CONSUL_API_VERSION = '1.22.0';
/** The node Meta keys a Consul agent sets on its own node. */
export const NODE_META_SEGMENT = 'consul-network-segment';
export const NODE_META_VERSION = 'consul-version';

export const META_MAX_PAIRS = 64;
export const META_MAX_KEY_BYTES = 128;
export const META_MAX_VALUE_BYTES = 512;
export const META_RESERVED_PREFIX = 'consul-';
/** The one reserved key a service may set, and only a mesh gateway (Consul's MetaWANFederationKey). */
export const META_WAN_FEDERATION_KEY = 'consul-wan-federation';

const KEY_FORMAT = /^[A-Za-z0-9_-]+$/;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function metaMap(rules: { readonly keyFormat: boolean; readonly reservedAllowed?: readonly string[] }) {
  return z
    .custom<Record<string, string>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { error: 'must be an object of string keys and string values' })
    .superRefine((meta, ctx) => {
      const entries = Object.entries(meta);
      const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      if (entries.length > META_MAX_PAIRS) return issue([], `must hold at most ${META_MAX_PAIRS} key/value pairs (it has ${entries.length})`);
      for (const [key, value] of entries) {
        if (rules.keyFormat && key === '') issue([key], 'key cannot be blank');
        else if (rules.keyFormat && !KEY_FORMAT.test(key)) issue([key], 'key may contain only letters, digits, "-" and "_"');
        else if (bytes(key) > META_MAX_KEY_BYTES) issue([key], `key is longer than ${META_MAX_KEY_BYTES} bytes`);
        else if (rules.keyFormat && key.startsWith(META_RESERVED_PREFIX) && !rules.reservedAllowed?.includes(key)) issue([key], `key prefix "${META_RESERVED_PREFIX}" is reserved for internal use`);
        if (typeof value !== 'string') issue([key], 'must be a string');
        else if (bytes(value) > META_MAX_VALUE_BYTES) issue([key], `value is longer than ${META_MAX_VALUE_BYTES} bytes`);
      }
    });
}

/** Meta of a config entry or an intention: Consul's size bounds. */
export const meta = metaMap({ keyFormat: false });

/**
 * Meta of a service or node: the size bounds, the key format, and no "consul-" keys
 * (`consul-wan-federation` passes here; the registration allows it for mesh gateways only).
 */
export const serviceMeta = metaMap({ keyFormat: true, reservedAllowed: [META_WAN_FEDERATION_KEY] });

/** Meta of a node (the agent's `node_meta`): as a service's, with no "consul-" key at all. */
export const nodeMeta = metaMap({ keyFormat: true });

/**
 * Meta of a node as an agent stored it (a node in a federation state another datacenter sends):
 * as `nodeMeta`, plus the "consul-" keys an agent sets on its own node.
 */
export const storedNodeMeta = metaMap({ keyFormat: true, reservedAllowed: [NODE_META_SEGMENT, NODE_META_VERSION] });

/** A string Consul bounds like a Meta value (an intention's Description). */
export const metaValueString = z.string().refine((s) => bytes(s) <= META_MAX_VALUE_BYTES, `is longer than ${META_MAX_VALUE_BYTES} bytes`);
