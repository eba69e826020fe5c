// The CA configuration in Consul's shape (`/v1/connect/ca/configuration`): the provider name,
// its Config map, and ForceWithoutCrossSigning. Keys in Config may be spelt as Consul's API
// (`LeafCertTTL`) or as its agent config (`leaf_cert_ttl`, `csr_max_per_second`). A request is
// validated strictly, since a body misread as "the defaults" would rotate the root.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import { formatPath } from '../core/validate.js';
import { isSupportedKey, SUPPORTED_KEYS, type KeyType } from './keys.js';
import { PLUGIN_KEYS, pluginSettingsSchema, type PluginSettings } from './plugin/settings.js';

const HOUR = 3_600_000;
export const LEAF_TTL_MIN_MS = HOUR;
export const LEAF_TTL_MAX_MS = 8760 * HOUR;
/**
 * A root must end before the year 9999 (the last an X.509 time can spell), or the certificate
 * cannot be built; a hundred years (ten times Consul's default) keeps that true for millennia.
 */
const ROOT_TTL_MAX_MS = 876_000 * HOUR;

export interface ProviderSettings {
  readonly PrivateKeyType: KeyType;
  readonly PrivateKeyBits: number;
  readonly LeafCertTTL: string;
  readonly RootCertTTL: string;
  readonly IntermediateCertTTL: string;
  readonly CSRMaxPerSecond: number;
  readonly CSRMaxConcurrent: number;
}

/** The providers: the built-in one, and one out of process (a go-plugin plugin, see plugin/). */
export const PROVIDERS = ['consul', 'plugin'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export type CAConfig =
  | { readonly Provider: 'consul'; readonly Config: ProviderSettings; readonly ForceWithoutCrossSigning: boolean }
  | { readonly Provider: 'plugin'; readonly Config: ProviderSettings & PluginSettings; readonly ForceWithoutCrossSigning: boolean };

/**
 * Every Config key the built-in provider takes, as Consul's API spells it, with its agent-config
 * (snake_case) spelling. Consul's decoder also takes any other case and ignores unknown keys;
 * here a key is one of these two spellings or it is refused, with a hint when only its case is wrong.
 */
const SETTING_KEYS = {
  PrivateKeyType: 'private_key_type',
  PrivateKeyBits: 'private_key_bits',
  LeafCertTTL: 'leaf_cert_ttl',
  RootCertTTL: 'root_cert_ttl',
  IntermediateCertTTL: 'intermediate_cert_ttl',
  CSRMaxPerSecond: 'csr_max_per_second',
  CSRMaxConcurrent: 'csr_max_concurrent',
  RotationPeriod: 'rotation_period',
  SkipValidate: 'skip_validate',
  PrivateKey: 'private_key',
  RootCert: 'root_cert',
} as const;
type SettingKey = keyof typeof SETTING_KEYS;
const SETTING_OF = new Map<string, SettingKey>(Object.entries(SETTING_KEYS).flatMap(([k, snake]) => [[k, k as SettingKey], [snake, k as SettingKey]]));

const msOf = (v: unknown): number | undefined => {
  if (typeof v !== 'string') return undefined;
  try {
    return parseDuration('', v);
  } catch {
    return undefined;
  }
};

const DURATION_TYPE = 'must be a duration string such as "72h" or "1h30m" (Go syntax)';

const duration = (bounds: { min?: [number, string]; max?: [number, string] } = {}) =>
  z.string({ error: DURATION_TYPE }).superRefine((v, ctx) => {
    const ms = msOf(v);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (for example 72h, 30m)` });
    else if (bounds.min && ms < bounds.min[0]) ctx.addIssue({ code: 'custom', message: `must be at least ${bounds.min[1]}, got ${v}` });
    else if (bounds.max && ms > bounds.max[0]) ctx.addIssue({ code: 'custom', message: `must be at most ${bounds.max[1]}, got ${v}` });
  });

/** A setting Consul's provider takes that Switchyard's does not: refused when set, not ignored. */
const importedKey = () =>
  z
    .string({ error: 'must be a string' })
    .optional()
    .refine((v) => !v, 'is not supported: the built-in provider generates its own root key (importing a key and root is not built yet)');

const settingsSchema = z.strictObject({
  PrivateKeyType: z.enum(['ec', 'rsa'], { error: 'must be "ec" or "rsa"' }).default('ec'),
  PrivateKeyBits: z.number({ error: 'must be a number of bits (ec: 256 or 384, rsa: 2048 or 4096)' }).int('must be a whole number of bits').optional(),
  LeafCertTTL: duration({ min: [LEAF_TTL_MIN_MS, '1h'], max: [LEAF_TTL_MAX_MS, '8760h (one year)'] }).default('72h'),
  RootCertTTL: duration({ max: [ROOT_TTL_MAX_MS, '876000h (a hundred years)'] }).default('87600h'),
  IntermediateCertTTL: duration().default('8760h'),
  CSRMaxPerSecond: z.number({ error: 'must be a number (0 turns the limit off)' }).min(0, 'must be at least 0 (0 turns the limit off)').default(50),
  CSRMaxConcurrent: z.number({ error: 'must be a whole number (0 turns the limit off)' }).int('must be a whole number').min(0, 'must be at least 0 (0 turns the limit off)').default(0),
  // Older Consul versions returned it in every configuration; it has no effect there either.
  RotationPeriod: duration().optional(),
  SkipValidate: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .refine((v) => v !== true, 'is not supported: Switchyard always validates the CA configuration'),
  PrivateKey: importedKey(),
  RootCert: importedKey(),
});

type Issue = { path: string; message: string };

/** "unknown field", and which field was meant when only the case (or an underscore) differs. */
function unknownField(key: string, known: readonly string[]): string {
  const fold = (k: string) => k.toLowerCase().replace(/_/g, '');
  const meant = known.find((k) => fold(k) === fold(key));
  if (meant) return `unknown field (names are case-sensitive: did you mean "${meant}"?)`;
  return (PLUGIN_KEYS as readonly string[]).includes(key) ? 'unknown field (it is a setting of Provider "plugin")' : 'unknown field';
}

function issuesOf(error: z.ZodError, prefix: readonly PropertyKey[], known: readonly string[]): Issue[] {
  return error.issues.flatMap((i): Issue[] =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: formatPath([...prefix, ...i.path, k]), message: unknownField(k, known) }))
      : [{ path: formatPath([...prefix, ...i.path]), message: i.message }],
  );
}

/** Checks between fields, on whatever fields are individually valid, so every problem is reported at once. */
function crossFieldIssues(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const type = raw.PrivateKeyType ?? 'ec';
  const bits = raw.PrivateKeyBits ?? (type === 'rsa' ? 2048 : 256);
  if ((type === 'ec' || type === 'rsa') && typeof bits === 'number' && Number.isInteger(bits) && !isSupportedKey({ type, bits })) {
    const ok = SUPPORTED_KEYS.filter((k) => k.type === type).map((k) => k.bits);
    issues.push({ path: 'PrivateKeyBits', message: `${type} keys of ${bits} bits are not supported (use ${ok.join(' or ')})` });
  }
  const leaf = msOf(raw.LeafCertTTL ?? '72h');
  const inter = msOf(raw.IntermediateCertTTL ?? '8760h');
  const root = msOf(raw.RootCertTTL ?? '87600h');
  if (leaf !== undefined && inter !== undefined && inter < 3 * leaf) {
    issues.push({ path: 'IntermediateCertTTL', message: `must be at least three times LeafCertTTL (${String(raw.LeafCertTTL ?? '72h')}), got ${String(raw.IntermediateCertTTL)}` });
  }
  if (inter !== undefined && root !== undefined && root < inter) {
    issues.push({ path: 'RootCertTTL', message: `must be at least IntermediateCertTTL (${String(raw.IntermediateCertTTL ?? '8760h')}), got ${String(raw.RootCertTTL)}` });
  }
  return issues;
}

const pluginSchema = settingsSchema.extend(pluginSettingsSchema);

/** The provider's settings from a Config object; issues carry paths under `Config`. */
function parseSettings(config: Record<string, unknown>, provider: ProviderName): { settings?: ProviderSettings & Partial<PluginSettings>; issues: Issue[] } {
  const raw: Record<string, unknown> = {};
  const spelled = new Map<SettingKey, string>();
  const issues: Issue[] = [];
  for (const [k, v] of Object.entries(config)) {
    const key = SETTING_OF.get(k);
    if (!key) {
      raw[k] = v;
      continue;
    }
    const earlier = spelled.get(key);
    if (earlier !== undefined) issues.push({ path: formatPath(['Config', k]), message: `given twice (as ${earlier} and ${k}); use one spelling` });
    spelled.set(key, k);
    raw[key] = v;
  }
  const parsed = (provider === 'plugin' ? pluginSchema : settingsSchema).safeParse(raw);
  const known = provider === 'plugin' ? [...Object.keys(SETTING_KEYS), ...PLUGIN_KEYS] : Object.keys(SETTING_KEYS);
  issues.push(...(parsed.success ? [] : issuesOf(parsed.error, ['Config'], known)));
  issues.push(...crossFieldIssues(raw).map((i) => ({ ...i, path: `Config.${i.path}` })));
  if (issues.length > 0 || !parsed.success) return { issues };
  const c = parsed.data;
  const p = c as Partial<PluginSettings>;
  const plugin = p.plugin_cmd !== undefined ? { plugin_cmd: p.plugin_cmd, plugin_data: p.plugin_data ?? {}, ...(p.plugin_checksum === undefined ? {} : { plugin_checksum: p.plugin_checksum.toLowerCase() }) } : {};
  const settings: ProviderSettings & Partial<PluginSettings> = {
    PrivateKeyType: c.PrivateKeyType,
    PrivateKeyBits: c.PrivateKeyBits ?? (c.PrivateKeyType === 'ec' ? 256 : 2048),
    LeafCertTTL: c.LeafCertTTL,
    RootCertTTL: c.RootCertTTL,
    IntermediateCertTTL: c.IntermediateCertTTL,
    CSRMaxPerSecond: c.CSRMaxPerSecond,
    CSRMaxConcurrent: c.CSRMaxConcurrent,
    ...plugin,
  };
  return { settings, issues };
}

const flag = z.boolean({ error: 'must be true or false' }).optional();
const raftIndex = z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be at least 0').optional();

/**
 * PUT /v1/connect/ca/configuration, as Consul's API client (api.CAConfig) writes it. State,
 * CreateIndex and ModifyIndex come back from a read-modify-write and are ignored, as Consul does
 * (State only when empty: the provider's state cannot be set); ClusterID, which Switchyard's GET
 * shows, may be sent back but not changed.
 */
const requestSchema = z.strictObject({
  Provider: z.string({ error: (i) => (i.input === undefined ? 'is required (the built-in provider is "consul", one out of process "plugin")' : 'must be a string') }),
  Config: z.record(z.string(), z.unknown(), {
    error: (i) => (i.input === undefined || i.input === null ? 'is required: the provider\'s settings, e.g. {"PrivateKeyType": "ec", "PrivateKeyBits": 256}' : 'must be an object of the provider\'s settings'),
  }),
  State: z
    .record(z.string(), z.string(), { error: 'must be an object of strings' })
    .nullable()
    .optional()
    .refine((v) => !v || Object.keys(v).length === 0, 'is read-only: the provider keeps its own state (leave it out)'),
  ForceWithoutCrossSigning: flag,
  force_without_cross_signing: flag,
  ClusterID: z.string({ error: 'must be a string' }).optional(),
  CreateIndex: raftIndex,
  ModifyIndex: raftIndex,
});
const REQUEST_KEYS = Object.keys(requestSchema.shape);

const CONTEXT = 'invalid CA configuration';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface CAConfigRequest {
  readonly config: CAConfig;
  /** The ClusterID the body carried (a GET's echo), for the caller to check against its own. */
  readonly clusterId?: string;
}

/**
 * Validates a configuration request body strictly: Provider and Config are required, every key
 * is known, every value has its type, and every problem is reported with its field path. The
 * Config replaces the whole of the current one, as in Consul: a setting left out takes its default.
 */
export function parseCAConfigRequest(input: unknown): CAConfigRequest {
  if (!isObject(input)) {
    throw ValidationError.of('', 'the CA configuration must be a JSON object, e.g. {"Provider": "consul", "Config": {"PrivateKeyType": "ec", "PrivateKeyBits": 256}}', CONTEXT);
  }
  const top = requestSchema.safeParse(input);
  const issues = top.success ? [] : issuesOf(top.error, [], REQUEST_KEYS);
  const provider = (PROVIDERS as readonly unknown[]).includes(input.Provider) ? (input.Provider as ProviderName) : undefined;
  if (typeof input.Provider === 'string' && !provider) {
    issues.push({ path: 'Provider', message: `"${input.Provider}" is not supported (the built-in provider is "consul", one out of process "plugin")` });
  }
  // The settings are checked even when the top level has problems: every issue at once.
  const settings = isObject(input.Config) ? parseSettings(input.Config, provider ?? 'consul') : { issues: [] };
  issues.push(...settings.issues);
  const force = top.data?.ForceWithoutCrossSigning;
  const forceSnake = top.data?.force_without_cross_signing;
  if (force !== undefined && forceSnake !== undefined && force !== forceSnake) {
    issues.push({ path: 'force_without_cross_signing', message: `contradicts ForceWithoutCrossSigning (${force}); use one spelling` });
  }
  if (issues.length > 0 || !top.success || !settings.settings || !provider) throw new ValidationError(issues, CONTEXT);
  const ForceWithoutCrossSigning = force ?? forceSnake ?? false;
  const s = settings.settings;
  const config: CAConfig =
    provider === 'plugin' && s.plugin_cmd !== undefined
      ? { Provider: 'plugin', Config: { ...s, plugin_cmd: s.plugin_cmd, plugin_data: s.plugin_data ?? {} }, ForceWithoutCrossSigning }
      : { Provider: 'consul', Config: s, ForceWithoutCrossSigning };
  return {
    config,
    ...(top.data.ClusterID === undefined ? {} : { clusterId: top.data.ClusterID }),
  };
}

/**
 * A configuration from built-in defaults and test fixtures: Provider and Config may be left out
 * (they default to "consul" and {}); the settings are checked exactly as in a request.
 */
export function parseCAConfig(input: unknown): CAConfig {
  const body = isObject(input) ? input : {};
  return parseCAConfigRequest({ ...body, Provider: body.Provider ?? 'consul', Config: body.Config ?? {} }).config;
}

export const DEFAULT_CA_CONFIG: CAConfig = parseCAConfig({});

export function leafTtlMs(c: CAConfig): number {
  return parseDuration('Config.LeafCertTTL', c.Config.LeafCertTTL);
}

/**
 * Whether going from `a` to `b` needs a new root: another provider (another plugin binary, or
 * other plugin_data: the plugin decides what they mean), a new key type/size or root lifetime,
 * however spelt. A new plugin_checksum alone (an upgraded binary) keeps the root.
 */
export function needsNewRoot(a: CAConfig, b: CAConfig): boolean {
  if (a.Provider !== b.Provider) return true;
  if (a.Provider === 'plugin' && b.Provider === 'plugin' && (a.Config.plugin_cmd !== b.Config.plugin_cmd || !isDeepStrictEqual(a.Config.plugin_data, b.Config.plugin_data))) return true;
  return a.Config.PrivateKeyType !== b.Config.PrivateKeyType || a.Config.PrivateKeyBits !== b.Config.PrivateKeyBits || msOf(a.Config.RootCertTTL) !== msOf(b.Config.RootCertTTL);
}
