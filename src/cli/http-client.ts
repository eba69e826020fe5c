// The thin client the CLI's commands use against a running agent's HTTP API: plain HTTP, or
// HTTPS (an https:// address) trusting the CA of -ca-file / $CONSUL_CACERT as well as the system's.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { errorMessage, ValidationError } from '../core/errors.js';

export const DEFAULT_HTTP_ADDR = '127.0.0.1:8500';

/** The help text of every client command's -http-addr flag. */
export const HTTP_ADDR_HELP = `Address of the agent's HTTP API, https://HOST:PORT for HTTPS (default $SWITCHYARD_HTTP_ADDR, else $CONSUL_HTTP_ADDR, else ${DEFAULT_HTTP_ADDR})`;
/** The help text of the -ca-file flag. */
export const CA_FILE_HELP = "CA file (PEM) to verify the agent's HTTPS certificate with (default $CONSUL_CACERT)";

/** The agent's HTTP address for a client command: the flag, then $SWITCHYARD_HTTP_ADDR, then $CONSUL_HTTP_ADDR (as Consul's CLI), then the default. */
export function httpAddr(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return flag || env.SWITCHYARD_HTTP_ADDR || env.CONSUL_HTTP_ADDR || DEFAULT_HTTP_ADDR;
}

/** The CA file an HTTPS client trusts: the flag, else $CONSUL_CACERT (Consul's name). */
export function caFile(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return flag || env.CONSUL_CACERT || undefined;
}

/** Reads a CA file named by a flag (or its environment variable); an unreadable one is an error naming it. */
export function readCaFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw ValidationError.of(flag, `cannot read the CA file ${path}: ${errorMessage(err)}`);
  }
}

export const TOKEN_HELP = 'ACL token to use in the request (default $CONSUL_HTTP_TOKEN)';

/** The ACL token for a client command: the flag, then $CONSUL_HTTP_TOKEN (as Consul's CLI); none when neither is set. */
export function httpToken(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return flag || env.CONSUL_HTTP_TOKEN || undefined;
}

/** A client of the agent for a command's `-http-addr` and `-token` flags (and their environment variables). */
export function clientFor(flags: { readonly 'http-addr'?: string; readonly token?: string }, env: Readonly<Record<string, string | undefined>>): ApiClient {
  return new ApiClient(httpAddr(flags['http-addr'], env), httpToken(flags.token, env), { caFile: caFile(undefined, env) });
}

/** An answer other than 2xx: its status and text. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly text: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  readonly base: string;

  constructor(
    addr: string = DEFAULT_HTTP_ADDR,
    /** Sent as X-Consul-Token (`-token`, $CONSUL_HTTP_TOKEN); never printed. */
    private readonly token?: string,
    /** For an https:// address: the CA file to trust (-ca-file, $CONSUL_CACERT), read at the first request. */
    private readonly tls: { readonly caFile?: string } = {},
  ) {
    this.base = /^https?:\/\//.test(addr) ? addr.replace(/\/$/, '') : `http://${addr}`;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: { status: number; ok: boolean; text: string };
    const headers = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(this.token ? { 'X-Consul-Token': this.token } : {}) };
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    try {
      if (this.base.startsWith('https://')) res = await this.https(method, path, headers, payload);
      else {
        const r = await fetch(this.base + path, { method, headers, body: payload });
        res = { status: r.status, ok: r.ok, text: await r.text() };
      }
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw new Error(`cannot reach the agent at ${this.base}: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`);
    }
    const { text } = res;
    if (!res.ok) throw new ApiError(res.status, `${method} ${path}: ${res.status}: ${text.trim()}`, text.trim());
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  /** One request over HTTPS (fetch takes no CA of its own in Node 20): the system's CAs plus the CA file, if any. */
  private https(method: string, path: string, headers: Record<string, string>, payload: string | undefined): Promise<{ status: number; ok: boolean; text: string }> {
    const ca = this.tls.caFile ? [readCaFile(this.tls.caFile, '-ca-file'), ...rootCertificates] : undefined;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(this.base + path, { method, headers: { ...headers, ...(payload !== undefined && { 'content-length': String(Buffer.byteLength(payload)) }) }, ...(ca && { ca }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  put<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }
}
