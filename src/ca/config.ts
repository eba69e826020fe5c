// The CA configuration in Consul's shape (`/v1/connect/ca/configuration`): the provider name,
// its Config map, and ForceWithoutCrossSigning. Keys in Config may be spelt as Consul's API
// (`LeafCertTTL`) or as its agent config (`leaf_cert_ttl`, `csr_max_per_second`).
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import { isSupportedKey, SUPPORTED_KEYS, type KeyType } from './keys.js';

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

export interface CAConfig {
  readonly Provider: 'consul';
  readonly Config: ProviderSettings;
  readonly ForceWithoutCrossSigning: boolean;
}

const SNAKE: Record<string, keyof ProviderSettings> = {
  private_key_type: 'PrivateKeyType',
  private_key_bits: 'PrivateKeyBits',
  leaf_cert_ttl: 'LeafCertTTL',
  root_cert_ttl: 'RootCertTTL',
  intermediate_cert_ttl: 'IntermediateCertTTL',
  csr_max_per_second: 'CSRMaxPerSecond',
  csr_max_concurrent: 'CSRMaxConcurrent',
};

const msOf = (v: unknown): number | undefined => {
  if (typeof v !== 'string') return undefined;
  try {
    return parseDuration('', v);
  } catch {
    return undefined;
  }
};

const duration = (def: string, bounds: { min?: [number, string]; max?: [number, string] } = {}) =>
  z
    .string()
    .default(def)
    .superRefine((v, ctx) => {
      const ms = msOf(v);
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (for example 72h, 30m)` });
      else if (bounds.min && ms < bounds.min[0]) ctx.addIssue({ code: 'custom', message: `must be at least ${bounds.min[1]}, got ${v}` });
      else if (bounds.max && ms > bounds.max[0]) ctx.addIssue({ code: 'custom', message: `must be at most ${bounds.max[1]}, got ${v}` });
    });

const settingsSchema = z
  .object({
    PrivateKeyType: z.enum(['ec', 'rsa']).default('ec'),
    PrivateKeyBits: z.number().int().optional(),
    LeafCertTTL: duration('72h', { min: [LEAF_TTL_MIN_MS, '1h'], max: [LEAF_TTL_MAX_MS, '8760h (one year)'] }),
    RootCertTTL: duration('87600h', { max: [ROOT_TTL_MAX_MS, '876000h (a hundred years)'] }),
    IntermediateCertTTL: duration('8760h'),
    CSRMaxPerSecond: z.number().min(0).default(50),
    CSRMaxConcurrent: z.number().int().min(0).default(0),
  })
  .strict();

type Issue = { path: string; message: string };

/** Checks between fields, on whatever fields are individually valid, so every problem is reported at once. */
function crossFieldIssues(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const type = raw.PrivateKeyType ?? 'ec';
  const bits = raw.PrivateKeyBits ?? (type === 'rsa' ? 2048 : 256);
  if ((type === 'ec' || type === 'rsa') && typeof bits === 'number' && !isSupportedKey({ type, bits })) {
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

const configSchema = z
  .object({
    Provider: z.string().default('consul'),
    Config: z.record(z.string(), z.unknown()).default({}),
    ForceWithoutCrossSigning: z.boolean().default(false),
  })
  .passthrough();

const zodIssues = (error: z.ZodError, prefix: string): Issue[] =>
  error.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message }));

const CONTEXT = 'invalid CA configuration';

/** Validates a configuration request body; every problem is reported with its field path. */
export function parseCAConfig(input: unknown): CAConfig {
  const top = configSchema.safeParse(input ?? {});
  if (!top.success) throw new ValidationError(zodIssues(top.error, ''), CONTEXT);
  if (top.data.Provider !== 'consul') {
    throw ValidationError.of('Provider', `"${top.data.Provider}" is not supported (the built-in provider is "consul")`, CONTEXT);
  }
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(top.data.Config)) raw[SNAKE[k] ?? k] = v;
  const settings = settingsSchema.safeParse(raw);
  const issues = [
    ...(settings.success ? [] : zodIssues(settings.error, 'Config')),
    ...crossFieldIssues(raw).map((i) => ({ ...i, path: `Config.${i.path}` })),
  ];
  if (issues.length > 0 || !settings.success) throw new ValidationError(issues, CONTEXT);
  const c = settings.data;
  const Config = { ...c, PrivateKeyBits: c.PrivateKeyBits ?? (c.PrivateKeyType === 'ec' ? 256 : 2048) };
  return { Provider: 'consul', Config, ForceWithoutCrossSigning: top.data.ForceWithoutCrossSigning };
}

export const DEFAULT_CA_CONFIG: CAConfig = parseCAConfig({});

export function leafTtlMs(c: CAConfig): number {
  return parseDuration('Config.LeafCertTTL', c.Config.LeafCertTTL);
}

/** Whether going from `a` to `b` needs a new root (a new key type/size or root lifetime). */
export function needsNewRoot(a: CAConfig, b: CAConfig): boolean {
  return a.Config.PrivateKeyType !== b.Config.PrivateKeyType || a.Config.PrivateKeyBits !== b.Config.PrivateKeyBits || a.Config.RootCertTTL !== b.Config.RootCertTTL;
}
