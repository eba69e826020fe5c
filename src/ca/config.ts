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

const duration = (def: string) =>
  z
    .string()
    .default(def)
    .superRefine((v, ctx) => {
      try {
        parseDuration('', v);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (for example 72h, 30m)` });
      }
    });

const settingsSchema = z
  .object({
    PrivateKeyType: z.enum(['ec', 'rsa']).default('ec'),
    PrivateKeyBits: z.number().int().optional(),
    LeafCertTTL: duration('72h'),
    RootCertTTL: duration('87600h'),
    IntermediateCertTTL: duration('8760h'),
    CSRMaxPerSecond: z.number().min(0).default(50),
    CSRMaxConcurrent: z.number().int().min(0).default(0),
  })
  .strict()
  .transform((s) => ({ ...s, PrivateKeyBits: s.PrivateKeyBits ?? (s.PrivateKeyType === 'ec' ? 256 : 2048) }))
  .superRefine((s, ctx) => {
    if (!isSupportedKey({ type: s.PrivateKeyType, bits: s.PrivateKeyBits })) {
      const ok = SUPPORTED_KEYS.filter((k) => k.type === s.PrivateKeyType).map((k) => k.bits);
      ctx.addIssue({ code: 'custom', path: ['PrivateKeyBits'], message: `${s.PrivateKeyType} keys of ${s.PrivateKeyBits} bits are not supported (use ${ok.join(' or ')})` });
    }
    const ms = (v: string) => { try { return parseDuration('', v); } catch { return NaN; } };
    const leaf = ms(s.LeafCertTTL);
    if (leaf < LEAF_TTL_MIN_MS) ctx.addIssue({ code: 'custom', path: ['LeafCertTTL'], message: `must be at least 1h, got ${s.LeafCertTTL}` });
    if (leaf > LEAF_TTL_MAX_MS) ctx.addIssue({ code: 'custom', path: ['LeafCertTTL'], message: `must be at most 8760h (one year), got ${s.LeafCertTTL}` });
    if (ms(s.IntermediateCertTTL) < 3 * leaf) {
      ctx.addIssue({ code: 'custom', path: ['IntermediateCertTTL'], message: `must be at least three times LeafCertTTL (${s.LeafCertTTL}), got ${s.IntermediateCertTTL}` });
    }
    if (ms(s.RootCertTTL) < ms(s.IntermediateCertTTL)) {
      ctx.addIssue({ code: 'custom', path: ['RootCertTTL'], message: `must be at least IntermediateCertTTL (${s.IntermediateCertTTL}), got ${s.RootCertTTL}` });
    }
  });

const configSchema = z
  .object({
    Provider: z.string().default('consul'),
    Config: z.record(z.string(), z.unknown()).default({}),
    ForceWithoutCrossSigning: z.boolean().default(false),
  })
  .passthrough();

function zodToValidation(error: z.ZodError, prefix: string, context: string): ValidationError {
  return new ValidationError(
    error.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message })),
    context,
  );
}

/** Validates a configuration request body; every problem is reported with its field path. */
export function parseCAConfig(input: unknown): CAConfig {
  const top = configSchema.safeParse(input ?? {});
  if (!top.success) throw zodToValidation(top.error, '', 'invalid CA configuration');
  if (top.data.Provider !== 'consul') {
    throw ValidationError.of('Provider', `"${top.data.Provider}" is not supported (the built-in provider is "consul")`, 'invalid CA configuration');
  }
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(top.data.Config)) raw[SNAKE[k] ?? k] = v;
  const settings = settingsSchema.safeParse(raw);
  if (!settings.success) throw zodToValidation(settings.error, 'Config', 'invalid CA configuration');
  return { Provider: 'consul', Config: settings.data, ForceWithoutCrossSigning: top.data.ForceWithoutCrossSigning };
}

export const DEFAULT_CA_CONFIG: CAConfig = parseCAConfig({});

export function leafTtlMs(c: CAConfig): number {
  return parseDuration('Config.LeafCertTTL', c.Config.LeafCertTTL);
}

/** Whether going from `a` to `b` needs a new root (a new key type/size or root lifetime). */
export function needsNewRoot(a: CAConfig, b: CAConfig): boolean {
  return a.Config.PrivateKeyType !== b.Config.PrivateKeyType || a.Config.PrivateKeyBits !== b.Config.PrivateKeyBits || a.Config.RootCertTTL !== b.Config.RootCertTTL;
}
