// The ADS service definition with pre-encoded responses: the handlers write Buffers built by
// encoding.ts, so grpc-js frames them without re-encoding any resource. Requests are decoded by
// request-bounds.ts, which checks them first and turns a bad one into a RejectedRequest.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { AggregatedDiscoveryServiceService as Generated } from '../gen/envoy/service/discovery/v3/ads.js';
import { DeltaDiscoveryRequest, DiscoveryRequest } from '../gen/envoy/service/discovery/v3/discovery.js';
import { boundedDeserializer, NODE_FIELD } from './request-bounds.js';

const passThrough = (value: Buffer): Buffer => value;

export const AdsService = {
  streamAggregatedResources: {
    ...Generated.streamAggregatedResources,
    requestDeserialize: boundedDeserializer('DiscoveryRequest', NODE_FIELD.sotw, (b) => DiscoveryRequest.decode(b)),
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
  deltaAggregatedResources: {
    ...Generated.deltaAggregatedResources,
    requestDeserialize: boundedDeserializer('DeltaDiscoveryRequest', NODE_FIELD.delta, (b) => DeltaDiscoveryRequest.decode(b)),
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
} satisfies ServiceDefinition;
