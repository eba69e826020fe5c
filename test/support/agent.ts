// An in-process agent on a free port with an in-memory store, and a small HTTP client that
// returns status, headers and body as a test wants them.
import type { AgentConfig } from '../../src/cli/agent-config.js';
import { startAgent, type Agent, type AgentDeps } from '../../src/cli/agent.js';
import { waitFor } from './wait.js';

export function devConfig(over: Partial<AgentConfig> = {}): AgentConfig {
  const datacenter = over.datacenter ?? 'dc1';
  return {
    datacenter,
    primaryDatacenter: datacenter,
    retryJoinWan: [],
    node: 'node1',
    bind: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    defaultIntentionPolicy: 'allow',
    nodeMeta: {},
    logLevel: 'silent',
    ...over,
  };
}

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  /** The parsed JSON body (undefined when it is not JSON). */
  readonly json: unknown;
  readonly index: number;
}

export class TestAgent {
  private constructor(readonly agent: Agent) {}

  static async start(over: Partial<AgentConfig> = {}, deps: AgentDeps = {}): Promise<TestAgent> {
    return new TestAgent(await startAgent(devConfig(over), deps));
  }

  get catalog() {
    return this.agent.catalog;
  }

  get base(): string {
    return `http://${this.agent.httpAddress}`;
  }

  async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const res = await fetch(this.base + path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, headers: res.headers, json, index: Number(res.headers.get('x-consul-index') ?? 0) };
  }

  get(path: string) {
    return this.call('GET', path);
  }

  /**
   * Starts a blocking GET and returns once it holds its store watch, so that a write made next
   * wakes it (a write made at once tends to land first, and the query then answers without blocking).
   */
  async blockingGet(path: string): Promise<{ readonly reply: Promise<Reply> }> {
    const live = this.agent.store.liveQueries;
    const reply = this.get(path);
    await waitFor(`GET ${path} to hold its watch`, () => this.agent.store.liveQueries > live);
    return { reply };
  }

  put(path: string, body?: unknown) {
    return this.call('PUT', path, body);
  }

  delete(path: string) {
    return this.call('DELETE', path);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
