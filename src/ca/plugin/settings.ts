// The Config keys of `Provider: "plugin"`, after SPIRE's plugin configuration: the binary
// (plugin_cmd), its sha256 (plugin_checksum, checked before every start) and the plugin's own
// settings (plugin_data, handed to it as they are). They sit beside the settings every provider
// shares (LeafCertTTL, PrivateKeyType, ...), which the plugin receives too, as Consul's did.
import { z } from 'zod';

export const PLUGIN_KEYS = ['plugin_cmd', 'plugin_checksum', 'plugin_data'] as const;

export interface PluginSettings {
  readonly plugin_cmd: string;
  readonly plugin_checksum?: string;
  readonly plugin_data: Readonly<Record<string, unknown>>;
}

export const pluginSettingsSchema = {
  plugin_cmd: z
    .string({ error: (i) => (i.input === undefined ? 'is required: the path of the plugin binary' : 'must be a string: the path of the plugin binary') })
    .min(1, 'must not be empty: the path of the plugin binary')
    .refine((v) => !/[\0\n]/.test(v), 'must be one path (no NUL or newline)'),
  plugin_checksum: z
    .string({ error: 'must be a string: the sha256 of the plugin binary, 64 hex digits' })
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the sha256 of the plugin binary, 64 hex digits (sha256sum prints it)')
    .optional(),
  plugin_data: z.record(z.string(), z.unknown(), { error: "must be an object: the plugin's own settings" }).default({}),
};

/** The plugin settings of a validated Config. */
export function pluginSettingsOf(raw: Readonly<Record<string, unknown>>): PluginSettings {
  return z.strictObject(pluginSettingsSchema).parse(Object.fromEntries(PLUGIN_KEYS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]])));
}

/** What the plugin's Configure receives: the whole Config but where its binary is and what it must hash to. */
export function configForPlugin(raw: Readonly<Record<string, unknown>>): Uint8Array {
  const { plugin_cmd: _cmd, plugin_checksum: _sum, ...rest } = raw;
  return new TextEncoder().encode(JSON.stringify(rest));
}
