// Socket addresses for listeners and endpoints.
import { SocketAddress, type Address } from '../gen/envoy/config/core/v3/address.js';

export function socketAddress(address: string, port: number): Address {
  return { address: { $case: 'socketAddress', value: SocketAddress.fromPartial({ address, portSpecifier: { $case: 'portValue', value: port } }) } };
}

/** Milliseconds as a google.protobuf.Duration. */
export function millis(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
