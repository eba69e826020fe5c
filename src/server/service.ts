// The ADS service definition with pre-encoded responses: the handlers write Buffers built by
// encoding.ts, so grpc-js frames them without re-encoding any resource.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { AggregatedDiscoveryServiceService as Generated } from '../gen/envoy/service/discovery/v3/ads.js';

const passThrough = (value: Buffer): Buffer => value;

export const AdsService = {
  streamAggregatedResources: {
    ...Generated.streamAggregatedResources,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
  deltaAggregatedResources: {
    ...Generated.deltaAggregatedResources,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
} satisfies ServiceDefinition;
