// The CA configuration in Consul's shape (`/v1/connect/ca/configuration`): the provider name,
// its Config map, and ForceWithoutCrossSigning. Keys in Config may be spelt as Consul's API
// (`LeafCertTTL`) or as its agent config (`leaf_cert_ttl`, `csr_max_per_second`). A request is
// validated strictly, since a body misread as "the defaults" would rotate the root.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { nanosToDuration, parseDuration } from '../core/duration.js';
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

/** Vault's AppRole login (`auth/<MountPath>/login`), the one auth method supported. */
export interface VaultAuthMethod {
  readonly Type: 'approle';
  /** Where the method is mounted; its type ("approle") when left out. */
  readonly MountPath?: string;
  readonly Params: { readonly role_id: string; readonly secret_id: string };
}

/** The Vault provider's settings (Consul's VaultCAProviderConfig), with the common ones. */
export interface VaultSettings extends ProviderSettings {
  readonly Address: string;
  readonly Token?: string;
  readonly AuthMethod?: VaultAuthMethod;
  /** Required in the primary datacenter (the root lives there). */
  readonly RootPKIPath?: string;
  readonly IntermediatePKIPath: string;
  readonly CAFile?: string;
  readonly CAPath?: string;
  readonly CertFile?: string;
  readonly KeyFile?: string;
  readonly TLSServerName?: string;
  readonly TLSSkipVerify: boolean;
}

export interface ConsulCAConfig {
  readonly Provider: 'consul';
  readonly Config: ProviderSettings;
  readonly ForceWithoutCrossSigning: boolean;
}

export interface VaultCAConfig {
  readonly Provider: 'vault';
  readonly Config: VaultSettings;
  readonly ForceWithoutCrossSigning: boolean;
}

/** A provider out of process: a go-plugin plugin (see plugin/). */
export interface PluginCAConfig {
  readonly Provider: 'plugin';
  readonly Config: ProviderSettings & PluginSettings;
  readonly ForceWithoutCrossSigning: boolean;
}

export type CAConfig = ConsulCAConfig | VaultCAConfig | PluginCAConfig;

/** The providers a configuration may name. */
export const PROVIDERS = ['consul', 'vault', 'plugin'] as const;

/**
 * Every Config key a provider takes, as Consul's API spells it, with its agent-config
 * (snake_case) spelling. Consul's decoder also takes any other case and ignores unknown keys;
 * here a key is one of these two spellings or it is refused, with a hint when only its case is wrong.
 * First the settings every provider takes (Consul's CommonCAProviderConfig), then each provider's own.
 */
const COMMON_KEYS = {
  PrivateKeyType: 'private_key_type',
  PrivateKeyBits: 'private_key_bits',
  LeafCertTTL: 'leaf_cert_ttl',
  RootCertTTL: 'root_cert_ttl',
  IntermediateCertTTL: 'intermediate_cert_ttl',
  CSRMaxPerSecond: 'csr_max_per_second',
  CSRMaxConcurrent: 'csr_max_concurrent',
  RotationPeriod: 'rotation_period',
  SkipValidate: 'skip_validate',
} as const;
const SETTING_KEYS = { ...COMMON_KEYS, PrivateKey: 'private_key', RootCert: 'root_cert' } as const;
const VAULT_KEYS = {
  ...COMMON_KEYS,
  Address: 'address',
  Token: 'token',
  AuthMethod: 'auth_method',
  RootPKIPath: 'root_pki_path',
  IntermediatePKIPath: 'intermediate_pki_path',
  CAFile: 'ca_file',
  CAPath: 'ca_path',
  CertFile: 'cert_file',
  KeyFile: 'key_file',
  TLSServerName: 'tls_server_name',
  TLSSkipVerify: 'tls_skip_verify',
  Namespace: 'namespace',
  RootPKINamespace: 'root_pki_namespace',
  IntermediatePKINamespace: 'intermediate_pki_namespace',
} as const;
const PLUGIN_SETTING_KEYS = { ...COMMON_KEYS, ...Object.fromEntries(PLUGIN_KEYS.map((k) => [k, k])) } as const;
type KeyTable = Readonly<Record<string, string>>;
const spellings = (keys: KeyTable) => new Map<string, string>(Object.entries(keys).flatMap(([k, snake]) => [[k, k], [snake, k]]));
const SETTING_OF = spellings(SETTING_KEYS);
const VAULT_SETTING_OF = spellings(VAULT_KEYS);
const PLUGIN_SETTING_OF = spellings(PLUGIN_SETTING_KEYS);

const msOf = (v: unknown): number | undefined => {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v / 1e6 : undefined;
  if (typeof v !== 'string') return undefined;
  try {
    return parseDuration('', v);
  } catch {
    return undefined;
  }
};

const DURATION_TYPE = 'must be a duration string such as "72h" or "1h30m" (Go syntax), or a whole number of nanoseconds';

/**
 * A TTL: a Go duration string, or a whole number of nanoseconds, which is how Go's JSON encodes a
 * time.Duration (Consul's Go client sends one that a caller put in the Config map so); kept as a
 * string.
 */
const duration = (bounds: { min?: [number, string]; max?: [number, string] } = {}) =>
  z.union([z.string(), z.number().refine((n) => Number.isInteger(n) && n >= 0, 'must be a whole, non-negative number of nanoseconds').transform(nanosToDuration)], { error: DURATION_TYPE }).superRefine((v, ctx) => {
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

const commonShape = {
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
};

const settingsSchema = z.strictObject({ ...commonShape, PrivateKey: importedKey(), RootCert: importedKey() });

const pluginSchema = z.strictObject({ ...commonShape, ...pluginSettingsSchema });

const optionalText = (what: string) => z.string({ error: `must be a string (${what})` }).min(1, `must not be empty (${what}; leave it out instead)`).optional();

/** A PKI mount path: segments of letters, digits, `-`, `_` and `.`, with or without slashes around it. */
const pkiPath = (required: string) =>
  z
    .string({ error: (i) => (i.input === undefined ? `is required: ${required}` : 'must be a string, the path of a PKI secrets engine mount (e.g. "connect-root")') })
    .refine((v) => /^\/*[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/*$/.test(v), 'must be a mount path: segments of letters, digits, "-", "_" or "." separated by "/" (e.g. "connect-root")')
    .refine((v) => !/^\/*(sys|auth|identity|cubbyhole)(\/|$)/.test(v), 'names a path Vault reserves (sys, auth, identity, cubbyhole): use a path of its own');

const unsupported = (why: string) =>
  z
    .unknown()
    .optional()
    .refine((v) => v === undefined, why);

const vaultSchema = z.strictObject({
  ...commonShape,
  Address: z
    .string({ error: (i) => (i.input === undefined ? 'is required: the address of the Vault server, e.g. "https://vault.example.com:8200"' : 'must be a string, e.g. "https://vault.example.com:8200"') })
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.search === '' && u.hash === '';
      } catch {
        return false;
      }
    }, 'must be an http:// or https:// URL of the Vault server, e.g. "https://vault.example.com:8200"'),
  Token: optionalText('a Vault token'),
  AuthMethod: z
    .strictObject(
      {
        Type: z.literal('approle', { error: 'must be "approle" (the auth method Switchyard supports; or give a Token)' }),
        MountPath: pkiPath('').optional(),
        Params: z.strictObject(
          {
            role_id: z.string({ error: 'is required: the AppRole role ID' }).min(1, 'must not be empty'),
            secret_id: z.string({ error: 'is required: the AppRole secret ID' }).min(1, 'must not be empty'),
          },
          { error: 'is required: {"role_id": "...", "secret_id": "..."}' },
        ),
      },
      { error: 'must be an object: {"Type": "approle", "Params": {"role_id": "...", "secret_id": "..."}}' },
    )
    .optional(),
  RootPKIPath: pkiPath('the PKI mount that holds the root').optional(),
  IntermediatePKIPath: pkiPath('the PKI mount that holds the intermediate which signs leaves, e.g. "connect-intermediate"'),
  CAFile: optionalText('a PEM file of CA certificates'),
  CAPath: optionalText('a directory of PEM CA certificates'),
  CertFile: optionalText('a PEM client certificate'),
  KeyFile: optionalText("the PEM client certificate's key"),
  TLSServerName: optionalText('the server name to expect'),
  TLSSkipVerify: z.boolean({ error: 'must be true or false' }).default(false),
  Namespace: unsupported('is not supported: Vault namespaces (an Enterprise feature) are not implemented'),
  RootPKINamespace: unsupported('is not supported: Vault namespaces (an Enterprise feature) are not implemented'),
  IntermediatePKINamespace: unsupported('is not supported: Vault namespaces (an Enterprise feature) are not implemented'),
});

const trimSlashes = (p: string): string => p.replace(/^\/+|\/+$/g, '');

/** The Vault provider's rules between fields (Consul's ParseVaultCAConfig and its TLS checks). */
function vaultCrossFieldIssues(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const hasToken = typeof raw.Token === 'string' && raw.Token !== '';
  if (!hasToken && raw.AuthMethod === undefined) issues.push({ path: 'Token', message: 'is required: a Vault token, or an AuthMethod to log in with' });
  if (hasToken && raw.AuthMethod !== undefined) issues.push({ path: 'AuthMethod', message: 'only one of Token and AuthMethod may be given' });
  if (typeof raw.RootPKIPath === 'string' && typeof raw.IntermediatePKIPath === 'string' && trimSlashes(raw.RootPKIPath) === trimSlashes(raw.IntermediatePKIPath)) {
    issues.push({ path: 'IntermediatePKIPath', message: 'must not be the same as RootPKIPath (the root and the intermediate each need a mount of their own)' });
  }
  if ((raw.CertFile === undefined) !== (raw.KeyFile === undefined)) {
    issues.push({ path: raw.CertFile === undefined ? 'CertFile' : 'KeyFile', message: 'CertFile and KeyFile must be given together (a client certificate and its key)' });
  }
  return issues;
}

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

/** Maps each key to its API spelling, reporting a setting given in both spellings. */
function canonicalKeys(config: Record<string, unknown>, spellingOf: ReadonlyMap<string, string>, issues: Issue[]): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const spelled = new Map<string, string>();
  for (const [k, v] of Object.entries(config)) {
    const key = spellingOf.get(k);
    if (!key) {
      raw[k] = v;
      continue;
    }
    const earlier = spelled.get(key);
    if (earlier !== undefined) issues.push({ path: formatPath(['Config', k]), message: `given twice (as ${earlier} and ${k}); use one spelling` });
    spelled.set(key, k);
    raw[key] = v;
  }
  return raw;
}

/** The settings every provider takes, with the key size defaulted from the key type. */
function commonSettings(c: z.infer<typeof settingsSchema> | z.infer<typeof vaultSchema> | z.infer<typeof pluginSchema>): ProviderSettings {
  return {
    PrivateKeyType: c.PrivateKeyType,
    PrivateKeyBits: c.PrivateKeyBits ?? (c.PrivateKeyType === 'ec' ? 256 : 2048),
    LeafCertTTL: c.LeafCertTTL,
    RootCertTTL: c.RootCertTTL,
    IntermediateCertTTL: c.IntermediateCertTTL,
    CSRMaxPerSecond: c.CSRMaxPerSecond,
    CSRMaxConcurrent: c.CSRMaxConcurrent,
  };
}

/**
 * One provider's Config checked: keys to their API spelling, the provider's schema, and the
 * checks between fields (the common ones and the provider's `more`); every issue under `Config`.
 */
function checkSettings<S extends z.ZodType>(config: Record<string, unknown>, spellingOf: ReadonlyMap<string, string>, schema: S, keys: KeyTable, more: (raw: Record<string, unknown>) => Issue[] = () => []): { data?: z.infer<S>; issues: Issue[] } {
  const issues: Issue[] = [];
  const raw = canonicalKeys(config, spellingOf, issues);
  const parsed = schema.safeParse(raw);
  issues.push(...(parsed.success ? [] : issuesOf(parsed.error, ['Config'], Object.keys(keys))));
  issues.push(...[...crossFieldIssues(raw), ...more(raw)].map((i) => ({ ...i, path: `Config.${i.path}` })));
  return issues.length > 0 || !parsed.success ? { issues } : { data: parsed.data as z.infer<S>, issues };
}

/** The Vault provider's settings from a Config object; issues carry paths under `Config`. */
function parseVaultSettings(config: Record<string, unknown>): { settings?: VaultSettings; issues: Issue[] } {
  const { data: c, issues } = checkSettings(config, VAULT_SETTING_OF, vaultSchema, VAULT_KEYS, vaultCrossFieldIssues);
  if (!c) return { issues };
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const settings: VaultSettings = defined({
    ...commonSettings(c),
    Address: c.Address,
    Token: c.Token,
    AuthMethod: c.AuthMethod && defined({ Type: c.AuthMethod.Type, MountPath: c.AuthMethod.MountPath, Params: { role_id: c.AuthMethod.Params.role_id, secret_id: c.AuthMethod.Params.secret_id } }),
    RootPKIPath: c.RootPKIPath,
    IntermediatePKIPath: c.IntermediatePKIPath,
    CAFile: c.CAFile,
    CAPath: c.CAPath,
    CertFile: c.CertFile,
    KeyFile: c.KeyFile,
    TLSServerName: c.TLSServerName,
    TLSSkipVerify: c.TLSSkipVerify,
  });
  return { settings, issues };
}

/** The plugin provider's settings (SPIRE's plugin_cmd, plugin_checksum, plugin_data, and the common ones). */
function parsePluginSettings(config: Record<string, unknown>): { settings?: ProviderSettings & PluginSettings; issues: Issue[] } {
  const { data: c, issues } = checkSettings(config, PLUGIN_SETTING_OF, pluginSchema, PLUGIN_SETTING_KEYS);
  if (!c) return { issues };
  const checksum = c.plugin_checksum === undefined ? {} : { plugin_checksum: c.plugin_checksum.toLowerCase() };
  return { settings: { ...commonSettings(c), plugin_cmd: c.plugin_cmd, plugin_data: c.plugin_data, ...checksum }, issues };
}

/** The provider's settings from a Config object; issues carry paths under `Config`. */
function parseSettings(config: Record<string, unknown>): { settings?: ProviderSettings; issues: Issue[] } {
  const { data: c, issues } = checkSettings(config, SETTING_OF, settingsSchema, SETTING_KEYS);
  return c ? { settings: commonSettings(c), issues } : { issues };
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
  Provider: z.string({ error: (i) => (i.input === undefined ? 'is required (the built-in provider is "consul"; "vault" uses a Vault PKI; "plugin" runs one out of process)' : 'must be a string') }),
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
  const provider = typeof input.Provider === 'string' && (PROVIDERS as readonly string[]).includes(input.Provider) ? (input.Provider as CAConfig['Provider']) : undefined;
  if (typeof input.Provider === 'string' && !provider) {
    issues.push({ path: 'Provider', message: `"${input.Provider}" is not supported (the built-in provider is "consul"; "vault" uses a Vault PKI; "plugin" runs one out of process)` });
  }
  // The settings are checked even when the top level has problems: every issue at once.
  const parse = provider === 'vault' ? parseVaultSettings : provider === 'plugin' ? parsePluginSettings : parseSettings;
  const settings = !isObject(input.Config) ? { issues: [] } : parse(input.Config);
  issues.push(...settings.issues);
  const force = top.data?.ForceWithoutCrossSigning;
  const forceSnake = top.data?.force_without_cross_signing;
  if (force !== undefined && forceSnake !== undefined && force !== forceSnake) {
    issues.push({ path: 'force_without_cross_signing', message: `contradicts ForceWithoutCrossSigning (${force}); use one spelling` });
  }
  if (issues.length > 0 || !top.success || !settings.settings || !provider) throw new ValidationError(issues, CONTEXT);
  const ForceWithoutCrossSigning = force ?? forceSnake ?? false;
  const config: CAConfig =
    provider === 'vault'
      ? { Provider: 'vault', Config: settings.settings as VaultSettings, ForceWithoutCrossSigning }
      : provider === 'plugin'
        ? { Provider: 'plugin', Config: settings.settings as ProviderSettings & PluginSettings, ForceWithoutCrossSigning }
        : { Provider: 'consul', Config: settings.settings, ForceWithoutCrossSigning };
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
 * Whether going from `a` to `b` needs a new provider and possibly a new root: another provider,
 * another Vault or PKI mount, another plugin binary or plugin_data (the plugin decides what they
 * mean), or a new key type/size or root lifetime (however spelt). A new plugin_checksum alone (an
 * upgraded binary) does not. A provider that finds the root it already had (a Vault mount
 * reused) keeps it: see the CA's rotation.
 */
export function needsNewRoot(a: CAConfig, b: CAConfig): boolean {
  if (a.Provider !== b.Provider) return true;
  if (a.Provider === 'vault' && b.Provider === 'vault') {
    const path = (p: string | undefined) => trimSlashes(p ?? '');
    if (a.Config.Address !== b.Config.Address || path(a.Config.RootPKIPath) !== path(b.Config.RootPKIPath) || path(a.Config.IntermediatePKIPath) !== path(b.Config.IntermediatePKIPath)) return true;
  }
  if (a.Provider === 'plugin' && b.Provider === 'plugin' && (a.Config.plugin_cmd !== b.Config.plugin_cmd || !isDeepStrictEqual(a.Config.plugin_data, b.Config.plugin_data))) return true;
  return a.Config.PrivateKeyType !== b.Config.PrivateKeyType || a.Config.PrivateKeyBits !== b.Config.PrivateKeyBits || msOf(a.Config.RootCertTTL) !== msOf(b.Config.RootCertTTL);
}

/**
 * The Config map as Consul's API shows it: the CSR rate limits only when they are not the
 * defaults (Consul's answer holds the TTLs and what was configured, and a client reading it, as
 * Consul's own api tests do, takes an absent limit for the default). A read-modify-write that
 * sends the map back keeps the same limits.
 */
export function shownSettings(config: CAConfig['Config']): Record<string, unknown> {
  const { CSRMaxPerSecond, CSRMaxConcurrent, ...rest } = config;
  const defaults = DEFAULT_CA_CONFIG.Config;
  return { ...rest, ...(CSRMaxPerSecond !== defaults.CSRMaxPerSecond ? { CSRMaxPerSecond } : {}), ...(CSRMaxConcurrent !== defaults.CSRMaxConcurrent ? { CSRMaxConcurrent } : {}) };
}

/**
 * The configuration as reads show it: the Vault provider's Token and AppRole secret_id are
 * write-only, as in Consul (a read-modify-write sends them again).
 */
export function withoutSecrets(c: CAConfig): CAConfig {
  if (c.Provider !== 'vault') return c;
  const { Token: _token, AuthMethod, ...rest } = c.Config;
  const auth = AuthMethod && { ...AuthMethod, Params: { role_id: AuthMethod.Params.role_id } };
  return { ...c, Config: { ...rest, ...(auth ? { AuthMethod: auth as VaultAuthMethod } : {}) } };
}
