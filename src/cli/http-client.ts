// The thin client the CLI's commands use against a running agent's HTTP API.
import { errorMessage } from '../core/errors.js';

export const DEFAULT_HTTP_ADDR = '127.0.0.1:8500';

/** The help text of every client command's -http-addr flag. */
export const HTTP_ADDR_HELP = `Address of the agent's HTTP API (default $SWITCHYARD_HTTP_ADDR, else $CONSUL_HTTP_ADDR, else ${DEFAULT_HTTP_ADDR})`;

/** The agent's HTTP address for a client command: the flag, then $SWITCHYARD_HTTP_ADDR, then $CONSUL_HTTP_ADDR (as Consul's CLI), then the default. */
export function httpAddr(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return flag || env.SWITCHYARD_HTTP_ADDR || env.CONSUL_HTTP_ADDR || DEFAULT_HTTP_ADDR;
}

export const TOKEN_HELP = 'ACL token to use in the request (default $CONSUL_HTTP_TOKEN)';

/** The ACL token for a client command: the flag, then $CONSUL_HTTP_TOKEN (as Consul's CLI); none when neither is set. */
export function httpToken(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return flag || env.CONSUL_HTTP_TOKEN || undefined;
}

/** A client of the agent for a command's `-http-addr` and `-token` flags (and their environment variables). */
export function clientFor(flags: { readonly 'http-addr'?: string; readonly token?: string }, env: Readonly<Record<string, string | undefined>>): ApiClient {
  return new ApiClient(httpAddr(flags['http-addr'], env), httpToken(flags.token, env));
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
  ) {
    this.base = /^https?:\/\//.test(addr) ? addr.replace(/\/$/, '') : `http://${addr}`;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(this.token ? { 'X-Consul-Token': this.token } : {}) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(`cannot reach the agent at ${this.base}: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`);
    }
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, `${method} ${path}: ${res.status}: ${text.trim()}`, text.trim());
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
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
