// A plugin whose CA cannot cross-sign (SupportsCrossSigning answers false, CrossSignCA fails, as
// Consul's AWS PCA provider): rotating away from it is refused unless forced.
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { serve } from '../../src/ca/plugin/serve.js';
import { systemClock } from '../../src/core/clock.js';

class NoCrossSigning extends BuiltinProvider {
  override supportsCrossSigning(): Promise<boolean> {
    return Promise.resolve(false);
  }

  override crossSignCA(): Promise<Uint8Array> {
    return Promise.reject(new Error('this CA cannot cross-sign'));
  }
}

await serve(new NoCrossSigning(systemClock), { name: 'no-cross-sign-ca-plugin' });
