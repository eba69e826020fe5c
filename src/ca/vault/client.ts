// A minimal Vault HTTP API client: JSON over http(s) with Vault's token header, the TLS settings
// of the provider's configuration (CAFile, CAPath, CertFile, KeyFile, TLSServerName,
// TLSSkipVerify), and Vault's own error messages (the `errors` array) in every failure. No SDK:
// the PKI, auth and sys endpoints the provider uses are a handful of JSON calls.
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { ValidationError } from '../../core/errors.js';

/** The TLS settings, as the provider's Config spells them. */
export interface VaultTls {
  readonly CAFile?: string;
  readonly CAPath?: string;
  readonly CertFile?: string;
  readonly KeyFile?: string;
  readonly TLSServerName?: string;
  readonly TLSSkipVerify?: boolean;
}

/** A Vault answer outside 2xx, or no answer at all (status 0). */
export class VaultError extends Error {
  override readonly name = 'VaultError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** Vault's `errors`, or the transport's message. */
    readonly vaultErrors: readonly string[],
    address: string,
  ) {
    super(`vault CA provider: ${method} ${address}/v1/${path}: ${status === 0 ? 'no answer' : `Vault answered ${status}`}: ${vaultErrors.join('; ') || '(no message)'}`);
  }
}

export interface VaultBody {
  readonly data?: Record<string, unknown>;
  readonly auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
  readonly [k: string]: unknown;
}

const TIMEOUT_MS = 30_000;

/** Reads a file a setting names; one that cannot be read is that setting's fault. */
function readSetting<T>(field: keyof VaultTls, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw ValidationError.of(`Config.${field}`, `cannot be read: ${(err as Error).message}`, 'vault CA provider');
  }
}

/** Certificates from CAFile and every PEM file in CAPath (Vault's own client reads both). */
function caBundle(tls: VaultTls): string[] | undefined {
  const out: string[] = [];
  const { CAFile, CAPath } = tls;
  if (CAFile) out.push(readSetting('CAFile', () => readFileSync(CAFile, 'utf8')));
  if (CAPath) {
    for (const f of readSetting('CAPath', () => readdirSync(CAPath).sort())) {
      const text = readSetting('CAPath', () => readFileSync(join(CAPath, f), 'utf8'));
      if (text.includes('-----BEGIN CERTIFICATE-----')) out.push(text);
    }
    if (out.length === 0) throw ValidationError.of('Config.CAPath', `holds no PEM certificate (${CAPath})`, 'vault CA provider');
  }
  return out.length ? out : undefined;
}

export class VaultClient {
  private readonly base: URL;
  private readonly tlsOptions: RequestOptions;
  token = '';

  constructor(
    readonly address: string,
    tls: VaultTls = {},
  ) {
    this.base = new URL(address.replace(/\/+$/, '') + '/');
    this.tlsOptions =
      this.base.protocol === 'https:'
        ? {
            ca: caBundle(tls),
            cert: tls.CertFile ? readSetting('CertFile', () => readFileSync(tls.CertFile as string)) : undefined,
            key: tls.KeyFile ? readSetting('KeyFile', () => readFileSync(tls.KeyFile as string)) : undefined,
            servername: tls.TLSServerName || undefined,
            rejectUnauthorized: !tls.TLSSkipVerify,
          }
        : {};
  }

  /** One call; `path` is relative to /v1/. Resolves with the JSON body (empty for 204). */
  call(method: string, path: string, body?: unknown, opts: { token?: string | null; raw?: boolean } = {}): Promise<VaultBody & { text?: string }> {
    const url = new URL(`v1/${path}`, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const token = opts.token === undefined ? this.token : opts.token;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers['X-Vault-Token'] = token;
    if (payload) headers['Content-Type'] = 'application/json';
    if (payload) headers['Content-Length'] = String(payload.length);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const fail = (status: number, errors: string[]) => new VaultError(method, path, status, errors, this.address.replace(/\/+$/, ''));
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, timeout: TIMEOUT_MS, ...this.tlsOptions }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(fail(0, [err.message])));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let json: VaultBody | undefined;
          try {
            json = text ? (JSON.parse(text) as VaultBody) : {};
          } catch {
            json = undefined;
          }
          if (status < 200 || status >= 300) {
            const errors = Array.isArray(json?.errors) ? (json.errors as unknown[]).map(String) : [text.trim().slice(0, 500)];
            return reject(fail(status, errors));
          }
          if (opts.raw) return resolve({ text });
          if (!json) return reject(fail(status, [`the answer is not JSON: ${text.slice(0, 200)}`]));
          resolve(json);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
      req.on('error', (err) => reject(fail(0, [err.message])));
      req.end(payload);
    });
  }
}
