// A service's `TaggedAddresses`, as Consul models them for services: tag -> {Address, Port}.
// `lan` and `wan` are where a gateway is reached from its own datacenter and from others;
// `lan_ipv4`, `wan_ipv4`, `lan_ipv6`, `wan_ipv6` are the per-family addresses Consul's agent
// fills in from the service's own Address and Port when they are not given; any other tag is
// kept as given. Checked strictly, each problem named by its path (`TaggedAddresses.wan.Port`);
// the tag count is checked first, so a map of thousands of tags costs one issue.
import { isIP } from 'node:net';
import { z } from 'zod';
import { IDENTIFIER_MAX_CHARS, label, port } from '../config/common.js';
import type { ServiceAddress } from '../types.js';

export const TAGGED_ADDRESS_LAN = 'lan';
export const TAGGED_ADDRESS_WAN = 'wan';
export const TAGGED_ADDRESSES_MAX = 16;
export const TAG_MAX_CHARS = 128;

/** Consul's `ServiceAddress`: a non-empty address (an IP or a host name) and a port. */
export const serviceAddress = z.strictObject({
  Address: label(IDENTIFIER_MAX_CHARS).min(1, 'must not be empty'),
  Port: port,
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const tagName = label(TAG_MAX_CHARS);

/**
 * A tag's {Address, Port} with its field names in any case, as Go's decoder reads them (and as
 * the agent's snake_case service definitions write them: `address`, `port`); a tag is data, kept
 * as given.
 */
function canonicalAddresses(v: unknown): unknown {
  if (!isObject(v)) return v;
  const fields: Readonly<Record<string, string>> = { address: 'Address', port: 'Port' };
  const canonical = (a: unknown) => (isObject(a) ? Object.fromEntries(Object.entries(a).map(([k, x]) => [fields[k.toLowerCase()] ?? k, x])) : a);
  return Object.fromEntries(Object.entries(v).map(([tag, a]) => [tag, canonical(a)]));
}

export const taggedAddresses = z
  .preprocess(canonicalAddresses, z.custom<Record<string, ServiceAddress>>(isObject, { error: 'must be an object of tag -> {"Address", "Port"}' }))
  .superRefine((v, ctx) => {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length > TAGGED_ADDRESSES_MAX) {
      ctx.addIssue({ code: 'custom', path: [], message: `must hold at most ${TAGGED_ADDRESSES_MAX} tags (it has ${entries.length})` });
      return;
    }
    for (const [tag, address] of entries) {
      if (tag === '') {
        ctx.addIssue({ code: 'custom', path: [], message: 'a tag must not be empty' });
        continue;
      }
      const name = tagName.safeParse(tag);
      if (!name.success) ctx.addIssue({ code: 'custom', path: [tag], message: `the tag ${name.error.issues[0]?.message}` });
      const r = serviceAddress.safeParse(address);
      if (!r.success) for (const i of r.error.issues) ctx.addIssue({ ...i, path: [tag, ...i.path] });
    }
  });

export type TaggedAddresses = Readonly<Record<string, ServiceAddress>>;

/**
 * What Consul's agent stores for a service: the tags given, plus `lan_ipv4` and `wan_ipv4` (or
 * the `_ipv6` pair) from the service's Address and Port when the Address is an IP literal and
 * those tags were not given. (`lan` and `wan` are not filled in; `gatewayAddresses` reads them
 * with their defaults.) A service without a port gets no defaults: a tagged address always has one.
 */
export function withAgentDefaults(given: TaggedAddresses | undefined, address: string, servicePort: number): TaggedAddresses {
  const family = isIP(address);
  const out: Record<string, ServiceAddress> = { ...given };
  if (family !== 0 && servicePort > 0) {
    for (const tag of family === 4 ? ['lan_ipv4', 'wan_ipv4'] : ['lan_ipv6', 'wan_ipv6']) {
      if (!Object.hasOwn(out, tag)) out[tag] = { Address: address, Port: servicePort };
    }
  }
  return out;
}
