// The primary's CA over its HTTP API: roots by blocking query (`GET /v1/connect/ca/roots?index=`)
// and intermediates by `POST /v1/internal/connect/ca/sign-intermediate`. Unreachable, 5xx and 429
// are retried with capped, jittered backoff; a 4xx is the primary's refusal and is not. What the
// primary answers is checked before it is used: it becomes this datacenter's trust bundle.
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { retrying } from './backoff.js';
import type { PrimaryCA, PrimaryCallOptions, SignedIntermediate } from './primary-ca.js';
import type { CARoots } from './types.js';

export const SIGN_INTERMEDIATE_PATH = '/v1/internal/connect/ca/sign-intermediate';

/** How long the primary holds a roots query open; the request gives up a little after. */
const ROOTS_WAIT_S = 60;
const REQUEST_SLACK_MS = 15_000;
const SIGN_TIMEOUT_MS = 30_000;

const rootSchema = z.object({
  ID: z.string().min(1),
  Name: z.string(),
  SerialNumber: z.number(),
  SigningKeyID: z.string(),
  ExternalTrustDomain: z.string().min(1),
  NotBefore: z.string(),
  NotAfter: z.string(),
  RootCert: z.string().includes('-----BEGIN CERTIFICATE-----'),
  IntermediateCerts: z.array(z.string()).nullish().transform((v) => v ?? []),
  Active: z.boolean(),
  PrivateKeyType: z.enum(['ec', 'rsa']),
  PrivateKeyBits: z.number().int(),
  CreateIndex: z.number().int(),
  ModifyIndex: z.number().int(),
});

const rootsSchema = z.object({
  ActiveRootID: z.string().min(1, 'the primary has no active root'),
  TrustDomain: z.string().min(1),
  Roots: z.array(rootSchema).min(1),
});

const signedSchema = z.object({ IntermediatePEM: z.string().includes('-----BEGIN CERTIFICATE-----'), RootID: z.string().min(1) });

/** An answer worth waiting for again (the primary is down, busy or starting). */
export class PrimaryUnavailableError extends Error {
  override readonly name = 'PrimaryUnavailableError';
}

/** The primary refused the request (4xx) or answered something unusable. */
export class PrimaryRefusedError extends Error {
  override readonly name = 'PrimaryRefusedError';
}

export interface HttpPrimaryCAOptions {
  /** The primary's HTTP API, `host:port` (port 8500 when left out) or a URL. */
  readonly address: string;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly fetch?: typeof fetch;
  /** The agent's token (`acl.tokens.agent`), sent as X-Consul-Token: signing an intermediate needs operator:write in the primary. */
  readonly token?: string;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
}

function baseUrl(address: string): string {
  if (/^https?:\/\//.test(address)) return address.replace(/\/+$/, '');
  return /:\d+$/.test(address) ? `http://${address}` : `http://${address}:8500`;
}

export class HttpPrimaryCA implements PrimaryCA {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: HttpPrimaryCAOptions) {
    this.base = baseUrl(opts.address);
    this.fetch = opts.fetch ?? fetch;
  }

  get describe(): string {
    return this.base;
  }

  roots(index?: number, opts: PrimaryCallOptions = {}): Promise<CARoots> {
    const query = index === undefined ? '' : `?index=${index}&wait=${ROOTS_WAIT_S}s`;
    const { signal } = opts;
    return this.retry(opts, async () => {
      const res = await this.request('GET', `/v1/connect/ca/roots${query}`, undefined, (ROOTS_WAIT_S * 1000) + REQUEST_SLACK_MS, signal);
      const roots = this.parse(rootsSchema, res.body, 'roots');
      const headerIndex = Number(res.headers.get('x-consul-index'));
      return { ...roots, Index: Number.isInteger(headerIndex) && headerIndex > 0 ? headerIndex : 1 };
    });
  }

  signIntermediate(csrPem: string, opts: PrimaryCallOptions = {}): Promise<SignedIntermediate> {
    const { signal } = opts;
    return this.retry(opts, async () => {
      const res = await this.request('POST', SIGN_INTERMEDIATE_PATH, JSON.stringify({ CSR: csrPem }), SIGN_TIMEOUT_MS, signal);
      const signed = this.parse(signedSchema, res.body, 'signed intermediate');
      return { intermediatePem: signed.IntermediatePEM, rootId: signed.RootID };
    });
  }

  private retry<T>({ signal, onRetry }: PrimaryCallOptions, attempt: () => Promise<T>): Promise<T> {
    return retrying(attempt, {
      clock: this.opts.clock,
      random: this.opts.random,
      baseMs: this.opts.backoffBaseMs,
      maxMs: this.opts.backoffMaxMs,
      signal,
      transient: (err) => err instanceof PrimaryUnavailableError,
      onRetry: (err, delay) => onRetry?.(err, delay),
    });
  }

  private parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
    const r = schema.safeParse(body);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    throw new PrimaryRefusedError(`the primary at ${this.base} answered ${what} that cannot be used: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad shape'}`);
  }

  private async request(method: string, path: string, body: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<{ body: unknown; headers: Headers }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.fetch(this.base + path, { method, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(this.opts.token ? { 'X-Consul-Token': this.opts.token } : {}) } });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const cause = (err as { cause?: unknown }).cause;
      throw new PrimaryUnavailableError(`the primary at ${this.base} is unreachable: ${errorMessage(cause ?? err)}`);
    }
    if (res.status >= 500 || res.status === 429) throw new PrimaryUnavailableError(`the primary at ${this.base} answered ${res.status} to ${method} ${path}: ${text.trim()}`);
    if (res.status !== 200) throw new PrimaryRefusedError(`the primary at ${this.base} refused ${method} ${path} (${res.status}): ${text.trim()}`);
    try {
      return { body: JSON.parse(text) as unknown, headers: res.headers };
    } catch {
      throw new PrimaryRefusedError(`the primary at ${this.base} answered ${method} ${path} with something other than JSON`);
    }
  }
}
