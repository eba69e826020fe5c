// HTTP/2 to a cluster's endpoints when the protocol needs it (gRPC, http2): the typed extension
// protocol options of every cluster that speaks a protocol.
import type { Protocol } from '../catalog/types.js';
import { pack } from '../core/proto.js';
import type { Any } from '../gen/google/protobuf/any.js';
import { HttpProtocolOptions } from '../gen/envoy/extensions/upstreams/http/v3/http_protocol_options.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function protocolOptions(protocol: Protocol): { [key: string]: Any } {
  if (protocol !== 'http2' && protocol !== 'grpc') return {};
  const opts = HttpProtocolOptions.fromPartial({
    upstreamProtocolOptions: { $case: 'explicitHttpConfig', value: { protocolConfig: { $case: 'http2ProtocolOptions', value: {} } } },
  });
  return { [HTTP_PROTOCOL_OPTIONS]: pack(HttpProtocolOptions, opts) };
}
