// A CA plugin whose primary signs leaves with an intermediate apart from its root: the Vault
// provider served with the SDK's serve(), its Vault settings (Address, Token, mounts) taken from
// plugin_data. The host must renew that intermediate through GenerateIntermediate.
import { pluginLogger, serve } from '../../src/ca/plugin/serve.js';
import type { ProviderConfig } from '../../src/ca/provider.js';
import { VaultProvider } from '../../src/ca/vault/vault-provider.js';
import { systemClock } from '../../src/core/clock.js';

class PluginDataVault extends VaultProvider {
  override configure(c: ProviderConfig): Promise<void> {
    return super.configure({ ...c, rawConfig: { TLSSkipVerify: false, ...c.rawConfig, ...(c.rawConfig.plugin_data as Record<string, unknown>) } });
  }
}

await serve(new PluginDataVault({ clock: systemClock, logger: pluginLogger('vault-ca-plugin') }), { name: 'vault-ca-plugin' });
