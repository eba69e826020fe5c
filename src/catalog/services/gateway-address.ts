// A gateway's LAN and WAN addresses, worked out in one place so that every later layer (the
// gateway's own listeners, the endpoints other proxies dial) reads the same value.
//
// LAN: the `lan` tagged address, else the service's Address and Port (the node's address when
// the service has none, as Consul falls back to it). WAN: the `wan` tagged address, else the LAN
// address. `switchyard connect envoy -gateway mesh -register` always sets `lan` to the service's
// Address and Port, so for the registrations it makes this is exactly Consul's choice.
import type { ServiceAddress, ServiceInstance } from '../types.js';
import { TAGGED_ADDRESS_LAN, TAGGED_ADDRESS_WAN } from './tagged-addresses.js';

export interface GatewayAddresses {
  readonly lan: ServiceAddress;
  readonly wan: ServiceAddress;
}

export function gatewayAddresses(gateway: Pick<ServiceInstance, 'Address' | 'Port' | 'TaggedAddresses'>, nodeAddress: string): GatewayAddresses {
  const tags = gateway.TaggedAddresses ?? {};
  const tagged = (tag: string) => (Object.hasOwn(tags, tag) ? tags[tag] : undefined);
  const lan = tagged(TAGGED_ADDRESS_LAN) ?? { Address: gateway.Address || nodeAddress, Port: gateway.Port };
  return { lan, wan: tagged(TAGGED_ADDRESS_WAN) ?? lan };
}
