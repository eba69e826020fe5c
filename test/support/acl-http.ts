// HTTP calls to a real agent with an ACL token (X-Consul-Token), for the ACL enforcement tests.
import type { TestAgent } from './agent.js';

export interface TokenReply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  /** The parsed body of a JSON reply (errors are plain text: undefined). */
  readonly json: unknown;
}

/** One request with `token` as X-Consul-Token (none when undefined). */
export async function callWithToken(agent: TestAgent, method: string, path: string, token?: string, body?: unknown): Promise<TokenReply> {
  const res = await fetch(agent.base + path, {
    method,
    headers: token === undefined ? {} : { 'X-Consul-Token': token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json: unknown = (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
  return { status: res.status, text, headers: res.headers, json };
}
