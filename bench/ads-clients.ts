// The ADS benchmark's simulated sidecars, run in a child process (so they do not share the
// server's event loop): N delta streams, each on its own connection, driven as Envoy drives one
// (wildcard CDS/LDS, EDS by cluster name, SDS/RDS), ACKing every response at once, and opening
// the stream again after it fails with Envoy's backoff (jittered, 500 ms doubling to 30 s).
// A stream runs over grpc-js, or over a bare HTTP/2 connection framed here: grpc-js paces the
// connections it opens (each costs the client process CPU), while N separate Envoys connect all
// at once, which is what a reconnect storm has to absorb.
// Parent <-> child messages: see ClientCommand / ClientEvent.
import { credentials, makeGenericClientConstructor, status as Status, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { connect as h2connect, constants as h2 } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { TypeUrl } from '../src/core/type-urls.js';
import { Cluster } from '../src/gen/envoy/config/cluster/v3/cluster.js';
import type { TransportSocket } from '../src/gen/envoy/config/core/v3/base.js';
import { Listener } from '../src/gen/envoy/config/listener/v3/listener.js';
import { DownstreamTlsContext, UpstreamTlsContext, type CommonTlsContext } from '../src/gen/envoy/extensions/transport_sockets/tls/v3/tls.js';
import { HttpConnectionManager } from '../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import type { Any } from '../src/gen/google/protobuf/any.js';
import { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../src/gen/envoy/service/discovery/v3/discovery.js';

export type ClientCommand =
  /** Connects more sidecars (added to those already connected); over grpc-js unless `transport` says otherwise. */
  | { readonly cmd: 'start'; readonly port: number; readonly proxies: readonly string[]; readonly transport?: Transport }
  | { readonly cmd: 'mark' }
  | { readonly cmd: 'report' }
  /** What the storm benchmark reads: when each sidecar was first configured, and the stream failures. */
  | { readonly cmd: 'storm-report' }
  | { readonly cmd: 'stop' };

export interface ClientStats {
  readonly proxy: string;
  /** performance.timeOrigin + now() of the last ACK sent since the mark. */
  readonly lastAckAt: number;
  readonly bytes: number;
  /** Of `bytes`, the encoded resources themselves (the rest is the protocol's envelope). */
  readonly payloadBytes: number;
  readonly responses: number;
  /** By type: what a state-of-the-world server would send to resend what this client holds. */
  readonly sotwBytes: Readonly<Record<string, number>>;
}

export type ClientEvent =
  | { readonly ev: 'progress'; readonly ready: number; readonly responses: number }
  | { readonly ev: 'marked' }
  | { readonly ev: 'report'; readonly stats: readonly ClientStats[]; readonly cpuMs: number }
  | {
      readonly ev: 'storm-report';
      /** performance.timeOrigin + now() at which each configured sidecar first held every type. */
      readonly readyAt: readonly number[];
      /** Failed streams (each retried), by what the client was told (see failureClass). */
      readonly failures: Readonly<Record<string, number>>;
      /** The largest RSS this process had (process.resourceUsage().maxRSS, bytes). */
      readonly maxRss: number;
    };

interface Received {
  readonly bytes: number;
  readonly msg: DeltaDiscoveryResponse;
}

const definition = {
  delta: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
    requestStream: true,
    responseStream: true,
    requestSerialize: (r: DeltaDiscoveryRequest) => Buffer.from(DeltaDiscoveryRequest.encode(r).finish()),
    requestDeserialize: (b: Buffer) => DeltaDiscoveryRequest.decode(b),
    responseSerialize: (r: Received) => Buffer.from(DeltaDiscoveryResponse.encode(r.msg).finish()),
    responseDeserialize: (b: Buffer): Received => ({ bytes: b.length, msg: DeltaDiscoveryResponse.decode(b) }),
  },
};
const AdsClient = makeGenericClientConstructor(definition, 'ads');

const ALL_TYPES = [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route, TypeUrl.Secret];
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Bytes of a length-delimited protobuf field (one-byte tag) whose content is `length` bytes. */
function field(length: number): number {
  let varint = 1;
  for (let n = length; n >= 0x80; n >>>= 7) varint++;
  return 1 + varint + length;
}

/** The SDS names a transport socket's TLS context refers to. */
function sdsNames(socket: TransportSocket | undefined): string[] {
  const any = socket?.configType?.$case === 'typedConfig' ? socket.configType.value : undefined;
  let common: CommonTlsContext | undefined;
  if (any?.typeUrl.endsWith('.UpstreamTlsContext')) common = UpstreamTlsContext.decode(any.value).commonTlsContext;
  else if (any?.typeUrl.endsWith('.DownstreamTlsContext')) common = DownstreamTlsContext.decode(any.value).commonTlsContext;
  if (!common) return [];
  const names = common.tlsCertificateSdsSecretConfigs.map((c) => c.name);
  const v = common.validationContextType;
  if (v?.$case === 'validationContextSdsSecretConfig') names.push(v.value.name);
  if (v?.$case === 'combinedValidationContext' && v.value.validationContextSdsSecretConfig) names.push(v.value.validationContextSdsSecretConfig.name);
  return names;
}

/** The Secrets a Cluster or Listener needs, as Envoy finds them. */
function secretNames(typeUrl: string, resource: Any | undefined): string[] {
  if (!resource) return [];
  if (typeUrl === TypeUrl.Cluster) return sdsNames(Cluster.decode(resource.value).transportSocket);
  return Listener.decode(resource.value).filterChains.flatMap((c) => sdsNames(c.transportSocket));
}

/** The RDS names a Listener's HTTP connection managers refer to, as Envoy finds them. */
function routeNames(resource: Any | undefined): string[] {
  if (!resource) return [];
  const listener = Listener.decode(resource.value);
  const names: string[] = [];
  for (const chain of listener.filterChains) {
    for (const f of chain.filters) {
      if (f.configType?.$case !== 'typedConfig' || f.configType.value.typeUrl !== HCM_TYPE) continue;
      const hcm = HttpConnectionManager.decode(f.configType.value.value);
      if (hcm.routeSpecifier?.$case === 'rds') names.push(hcm.routeSpecifier.value.routeConfigName);
    }
  }
  return names;
}

/**
 * What a failed stream was told, in a few classes: a connection reset (before the server's
 * HTTP/2 preface, or after), refused, timed out, or the gRPC status the server ended it with.
 */
function failureClass(text: string, code: number | undefined, beforePreface: boolean): string {
  for (const [cls, re] of [
    [`connection reset${beforePreface ? ' before the HTTP/2 preface' : ''} (ECONNRESET)`, /ECONNRESET/],
    ['connection refused (ECONNREFUSED)', /ECONNREFUSED/],
    ['connection timed out', /ETIMEDOUT|timed out|Failed to connect before the deadline/i],
    ['connection dropped', /Connection dropped|Connection closed|GOAWAY|socket hang up/i],
  ] as const) {
    if (re.test(text)) return cls;
  }
  return `${code === undefined ? 'failed' : (Status[code] ?? code)}: ${text.slice(0, 80)}`;
}

const failures = new Map<string, number>();
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export type Transport = 'grpc-js' | 'http2';

/** One delta stream as the sidecar sees it, whatever carries it. */
interface DeltaStream {
  write(req: DeltaDiscoveryRequest): void;
  close(): void;
}

interface StreamHandlers {
  readonly response: (r: Received) => void;
  /** Called at most once per stream, with the failure's class. */
  readonly failed: (cls: string) => void;
}

function grpcStream(client: Client, on: StreamHandlers): DeltaStream {
  const call = (client as unknown as { delta(): ClientDuplexStream<DeltaDiscoveryRequest, Received> }).delta();
  call.on('data', on.response);
  call.on('error', (err: ServiceError) => on.failed(failureClass(err.details ?? err.message, err.code, false)));
  return { write: (req) => call.write(req), close: () => call.cancel() };
}

/** The stream on a connection of its own, gRPC framed by hand (a 5-byte prefix per message). */
function http2Stream(port: number, on: StreamHandlers): DeltaStream {
  const session = h2connect(`http://127.0.0.1:${port}`);
  let preface = false;
  let done = false;
  const fail = (cls: string) => {
    if (done) return;
    done = true;
    session.destroy();
    on.failed(cls);
  };
  session.on('remoteSettings', () => (preface = true));
  session.on('error', (err: Error) => fail(failureClass(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`, undefined, !preface)));
  session.on('close', () => fail(failureClass('Connection closed', undefined, !preface)));
  const stream = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: definition.delta.path, 'content-type': 'application/grpc', te: 'trailers' });
  let pending: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      const body = pending.subarray(5, 5 + length);
      pending = pending.subarray(5 + length);
      on.response(definition.delta.responseDeserialize(body));
    }
  });
  const ended = (headers: Record<string, unknown>) => {
    const code = Number(headers['grpc-status'] ?? Status.UNKNOWN);
    fail(failureClass(decodeURIComponent(String(headers['grpc-message'] ?? 'stream ended')), code, false));
  };
  stream.on('response', (headers) => headers['grpc-status'] !== undefined && ended(headers));
  stream.on('trailers', ended);
  stream.on('error', (err: Error) => fail(failureClass(err.message, undefined, !preface)));
  return {
    write: (req) => {
      const body = definition.delta.requestSerialize(req);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      stream.write(Buffer.concat([prefix, body]));
    },
    close: () => {
      done = true;
      session.destroy();
    },
  };
}

class Sidecar {
  private readonly client: Client | undefined;
  private stream: DeltaStream;
  private closed = false;
  private retries = 0;
  readyAt = 0;
  private readonly seenTypes = new Set<string>();
  private readonly secrets = new Set<string>();
  /**
   * What this client holds, by type and name, as the size of that resource's entry in a
   * state-of-the-world response (sizes only: holding the bytes of 1000 clients would make this
   * process's garbage collector part of the measured latency).
   */
  private readonly held = new Map<string, Map<string, number>>();
  lastAckAt = 0;
  bytes = 0;
  payloadBytes = 0;
  responses = 0;

  constructor(
    private readonly port: number,
    readonly proxy: string,
    private readonly transport: Transport,
  ) {
    // A local subchannel pool gives each sidecar its own connection, as separate Envoys have.
    if (transport === 'grpc-js') this.client = new AdsClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    this.stream = this.open();
  }

  /** A new stream from scratch (the server sends everything again; this client keeps counting). */
  private open(): DeltaStream {
    const on: StreamHandlers = { response: (r) => this.onResponse(r), failed: (cls) => this.onFailure(cls) };
    this.stream = this.client ? grpcStream(this.client, on) : http2Stream(this.port, on);
    this.secrets.clear();
    this.send({ typeUrl: TypeUrl.Cluster, node: { id: this.proxy, cluster: this.proxy, userAgentName: 'envoy' } as never });
    this.send({ typeUrl: TypeUrl.Listener });
    return this.stream;
  }

  private onFailure(cls: string): void {
    if (this.closed) return;
    failures.set(cls, (failures.get(cls) ?? 0) + 1);
    const backoff = Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.retries++);
    setTimeout(() => {
      if (!this.closed) this.open();
    }, backoff);
  }

  get ready(): boolean {
    return ALL_TYPES.every((t) => this.seenTypes.has(t));
  }

  mark(): void {
    this.lastAckAt = 0;
    this.bytes = 0;
    this.payloadBytes = 0;
    this.responses = 0;
  }

  /** A state-of-the-world resend of everything held: one DiscoveryResponse per type (version_info of 16 characters, a 5-character nonce). */
  sotwBytes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [typeUrl, byName] of this.held) {
      out[typeUrl] = [...byName.values()].reduce((n, size) => n + size, field(16) + field(5) + field(Buffer.byteLength(typeUrl)));
    }
    return out;
  }

  close(): void {
    this.closed = true;
    this.stream.close();
    this.client?.close();
  }

  private send(req: Partial<DeltaDiscoveryRequest>): void {
    this.stream.write(DeltaDiscoveryRequest.fromPartial(req));
  }

  private onResponse({ bytes, msg }: Received): void {
    this.seenTypes.add(msg.typeUrl);
    this.retries = 0;
    if (!this.readyAt && this.ready) this.readyAt = performance.timeOrigin + performance.now();
    this.bytes += bytes;
    this.payloadBytes += msg.resources.reduce((n, r) => n + (r.resource?.value.length ?? 0), 0);
    this.responses++;
    let held = this.held.get(msg.typeUrl);
    if (!held) this.held.set(msg.typeUrl, (held = new Map()));
    for (const name of msg.removedResources) held.delete(name);
    for (const r of msg.resources) if (r.resource) held.set(r.name, field(field(Buffer.byteLength(r.resource.typeUrl)) + field(r.resource.value.length)));
    if (msg.typeUrl === TypeUrl.Cluster || msg.typeUrl === TypeUrl.Listener) {
      const wanted = [...new Set(msg.resources.flatMap((r) => secretNames(msg.typeUrl, r.resource)))].filter((n) => !this.secrets.has(n));
      for (const n of wanted) this.secrets.add(n);
      if (wanted.length) this.send({ typeUrl: TypeUrl.Secret, resourceNamesSubscribe: wanted });
    }
    if (msg.typeUrl === TypeUrl.Cluster) {
      const added = msg.resources.map((r) => r.name);
      if (added.length || msg.removedResources.length) {
        this.send({ typeUrl: TypeUrl.Endpoint, resourceNamesSubscribe: added, resourceNamesUnsubscribe: msg.removedResources });
      }
    } else if (msg.typeUrl === TypeUrl.Listener) {
      const routes = msg.resources.flatMap((r) => routeNames(r.resource));
      if (routes.length) this.send({ typeUrl: TypeUrl.Route, resourceNamesSubscribe: routes });
    }
    this.send({ typeUrl: msg.typeUrl, responseNonce: msg.nonce });
    this.lastAckAt = performance.timeOrigin + performance.now();
  }
}

function main(): void {
  const sidecars: Sidecar[] = [];
  const emit = (e: ClientEvent) => process.send?.(e);
  let timer: NodeJS.Timeout | undefined;
  let cpuAtMark = process.cpuUsage();
  process.on('message', (m: ClientCommand) => {
    if (m.cmd === 'start') {
      sidecars.push(...m.proxies.map((p) => new Sidecar(m.port, p, m.transport ?? 'grpc-js')));
      timer ??= setInterval(() => emit({ ev: 'progress', ready: sidecars.filter((s) => s.ready).length, responses: sidecars.reduce((n, s) => n + s.responses, 0) }), 100);
    } else if (m.cmd === 'mark') {
      cpuAtMark = process.cpuUsage();
      for (const s of sidecars) s.mark();
      emit({ ev: 'marked' });
    } else if (m.cmd === 'report') {
      const cpu = process.cpuUsage(cpuAtMark);
      emit({ ev: 'report', cpuMs: (cpu.user + cpu.system) / 1000, stats: sidecars.filter((s) => s.responses > 0).map((s) => ({ proxy: s.proxy, lastAckAt: s.lastAckAt, bytes: s.bytes, payloadBytes: s.payloadBytes, responses: s.responses, sotwBytes: s.sotwBytes() })) });
    } else if (m.cmd === 'storm-report') {
      emit({ ev: 'storm-report', readyAt: sidecars.filter((s) => s.readyAt).map((s) => s.readyAt), failures: Object.fromEntries(failures), maxRss: process.resourceUsage().maxRSS * 1024 });
    } else {
      clearInterval(timer);
      for (const s of sidecars) s.close();
      process.exit(0);
    }
  });
}

main();
