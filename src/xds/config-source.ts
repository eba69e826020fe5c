// Where Envoy fetches what a resource references: always the ADS stream it is on, API v3.
import { ApiVersion, ConfigSource } from '../gen/envoy/config/core/v3/config_source.js';

export function adsConfigSource(): ConfigSource {
  return ConfigSource.fromPartial({ configSourceSpecifier: { $case: 'ads', value: {} }, resourceApiVersion: ApiVersion.V3 });
}
