// Scripted ADS clients for protocol tests: a real @grpc/grpc-js client over a real socket.
// send a request, expect the next response within a deadline, ACK, NACK, expect nothing sent.
import { credentials, Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { AggregatedDiscoveryServiceClient } from '../../src/gen/envoy/service/discovery/v3/ads.js';
import {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from '../../src/gen/envoy/service/discovery/v3/discovery.js';
import type { Node } from '../../src/gen/envoy/config/core/v3/base.js';
import { Wakeup } from './wait.js';

export interface StreamEnd {
  readonly code: number;
  readonly details: string;
}

/** A queue of what a stream received, read with deadlines. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly wakeup = new Wakeup();
  ended: StreamEnd | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(status: StreamEnd): void {
    this.ended ??= status;
    this.wake();
  }

  async next(what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      if (this.ended) throw new Error(`expected ${what}, but the stream ended: ${this.ended.code} ${this.ended.details}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${what} within ${timeoutMs} ms, got nothing`);
      await this.wait(left);
    }
  }

  /**
   * Asserts nothing arrives within `windowMs`. A bounded wait is the only way to observe that a
   * server did NOT send something; this is the one place a timed wait is legitimate.
   */
  async nothing(windowMs: number, describe: (item: T) => string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const item = this.items.shift();
    if (item !== undefined) throw new Error(`expected nothing within ${windowMs} ms, got ${describe(item)}`);
  }

  async ending(timeoutMs: number): Promise<StreamEnd> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected the stream to end within ${timeoutMs} ms`);
      await this.wait(left);
    }
    return this.ended;
  }

  private wait(ms: number): Promise<void> {
    return this.wakeup.wait(ms);
  }

  private wake(): void {
    this.wakeup.wake();
  }
}

abstract class ScriptedAdsClient<Req, Resp> {
  protected readonly inbox = new Inbox<Resp>();

  constructor(
    protected readonly client: AggregatedDiscoveryServiceClient,
    protected readonly stream: ClientDuplexStream<Req, Resp>,
  ) {
    stream.on('data', (r: Resp) => this.inbox.push(r));
    stream.on('error', (err: ServiceError) => this.inbox.end({ code: err.code, details: err.details }));
    stream.on('status', (s: StreamEnd) => this.inbox.end(s));
  }

  /** How the stream ended, if it has. */
  get ended(): StreamEnd | undefined {
    return this.inbox.ended;
  }

  async expectEnd(timeoutMs = 5000): Promise<StreamEnd> {
    return this.inbox.ending(timeoutMs);
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}

/** The stream's metadata: its ACL token as `x-consul-token`, when given (or metadata as given). */
function streamMetadata(token: string | Metadata | undefined): Metadata {
  if (token instanceof Metadata) return token;
  const md = new Metadata();
  if (token !== undefined) md.set('x-consul-token', token);
  return md;
}

function connect(port: number, creds: ChannelCredentials = credentials.createInsecure()): AggregatedDiscoveryServiceClient {
  return new AggregatedDiscoveryServiceClient(`127.0.0.1:${port}`, creds);
}

export function node(id: string, userAgentName = 'envoy'): Node {
  return { id, cluster: id, userAgentName, extensions: [], clientFeatures: [], listeningAddresses: [], dynamicParameters: {} } as unknown as Node;
}

export class DeltaClient extends ScriptedAdsClient<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  private sentNode = false;

  /** `token`: the stream's ACL token (or metadata); `creds`: TLS ones for the agent's TLS port (default plaintext). */
  static open(port: number, n: Node | undefined, token?: string | Metadata, creds?: ChannelCredentials): DeltaClient {
    const client = connect(port, creds);
    const c = new DeltaClient(client, client.deltaAggregatedResources(streamMetadata(token)));
    c.node = n;
    return c;
  }

  node: Node | undefined;

  /** Sends a request; the node goes on the first one only (as Envoy does). */
  send(req: Partial<DeltaDiscoveryRequest>): void {
    const node = this.sentNode ? undefined : this.node;
    this.sentNode = true;
    this.stream.write(DeltaDiscoveryRequest.fromPartial({ ...req, node }));
  }

  subscribe(typeUrl: string, names: string[] = [], initialResourceVersions: Record<string, string> = {}): void {
    this.send({ typeUrl, resourceNamesSubscribe: names, initialResourceVersions });
  }

  async expect(what = 'a response', timeoutMs = 5000): Promise<DeltaDiscoveryResponse> {
    return this.inbox.next(what, timeoutMs);
  }

  ack(resp: DeltaDiscoveryResponse, extra: Partial<DeltaDiscoveryRequest> = {}): void {
    this.send({ typeUrl: resp.typeUrl, responseNonce: resp.nonce, ...extra });
  }

  nack(resp: DeltaDiscoveryResponse, message: string): void {
    this.send({ typeUrl: resp.typeUrl, responseNonce: resp.nonce, errorDetail: { code: 3, message, details: [] } });
  }

  async expectNothing(windowMs = 300): Promise<void> {
    await this.inbox.nothing(windowMs, (r) => `${r.typeUrl} [${r.resources.map((x) => x.name).join(', ')}] removed [${r.removedResources.join(', ')}]`);
  }
}

export class SotwClient extends ScriptedAdsClient<DiscoveryRequest, DiscoveryResponse> {
  private sentNode = false;
  node: Node | undefined;

  static open(port: number, n: Node | undefined, token?: string | Metadata): SotwClient {
    const client = connect(port);
    const c = new SotwClient(client, client.streamAggregatedResources(streamMetadata(token)));
    c.node = n;
    return c;
  }

  send(req: Partial<DiscoveryRequest>): void {
    const node = this.sentNode ? undefined : this.node;
    this.sentNode = true;
    this.stream.write(DiscoveryRequest.fromPartial({ ...req, node }));
  }

  async expect(what = 'a response', timeoutMs = 5000): Promise<DiscoveryResponse> {
    return this.inbox.next(what, timeoutMs);
  }

  /** ACK: the same version_info and the response's nonce, for `names`. */
  ack(resp: DiscoveryResponse, names: string[]): void {
    this.send({ typeUrl: resp.typeUrl, versionInfo: resp.versionInfo, responseNonce: resp.nonce, resourceNames: names });
  }

  /** NACK: the previous good version, the nonce and the error. */
  nack(resp: DiscoveryResponse, previousVersion: string, names: string[], message: string): void {
    this.send({ typeUrl: resp.typeUrl, versionInfo: previousVersion, responseNonce: resp.nonce, resourceNames: names, errorDetail: { code: 3, message, details: [] } });
  }

  async expectNothing(windowMs = 300): Promise<void> {
    await this.inbox.nothing(windowMs, (r) => `${r.typeUrl} version ${r.versionInfo} (${r.resources.length} resources)`);
  }
}
