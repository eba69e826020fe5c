// The ADS benchmark's simulated sidecars, run in a child process (so they do not share the
// server's event loop): N delta streams, each on its own connection, driven as Envoy drives one
// (wildcard CDS/LDS, EDS by cluster name, SDS/RDS), ACKing every response at once.
// Parent <-> child messages: see ClientCommand / ClientEvent.
import { credentials, makeGenericClientConstructor, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { TypeUrl } from '../src/core/type-urls.js';
import { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../src/gen/envoy/service/discovery/v3/discovery.js';

export type ClientCommand =
  | { readonly cmd: 'start'; readonly port: number; readonly proxies: readonly string[] }
  | { readonly cmd: 'mark' }
  | { readonly cmd: 'report' }
  | { readonly cmd: 'stop' };

export interface ClientStats {
  readonly proxy: string;
  /** performance.timeOrigin + now() of the last ACK sent since the mark. */
  readonly lastAckAt: number;
  readonly bytes: number;
  readonly responses: number;
}

export type ClientEvent =
  | { readonly ev: 'progress'; readonly ready: number; readonly responses: number }
  | { readonly ev: 'marked' }
  | { readonly ev: 'report'; readonly stats: readonly ClientStats[]; readonly cpuMs: number };

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

class Sidecar {
  private readonly client: Client;
  private readonly stream: ClientDuplexStream<DeltaDiscoveryRequest, Received>;
  private readonly seenTypes = new Set<string>();
  lastAckAt = 0;
  bytes = 0;
  responses = 0;

  constructor(port: number, readonly proxy: string) {
    // A local subchannel pool gives each sidecar its own connection, as separate Envoys have.
    this.client = new AdsClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const call = (this.client as unknown as { delta(): ClientDuplexStream<DeltaDiscoveryRequest, Received> }).delta();
    this.stream = call;
    call.on('data', (r: Received) => this.onResponse(r));
    call.on('error', () => undefined);
    this.send({ typeUrl: TypeUrl.Cluster, node: { id: proxy, cluster: proxy, userAgentName: 'envoy' } as never });
    this.send({ typeUrl: TypeUrl.Listener });
    this.send({ typeUrl: TypeUrl.Secret, resourceNamesSubscribe: ['leaf', 'roots'] });
  }

  get ready(): boolean {
    return ALL_TYPES.every((t) => this.seenTypes.has(t));
  }

  mark(): void {
    this.lastAckAt = 0;
    this.bytes = 0;
    this.responses = 0;
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }

  private send(req: Partial<DeltaDiscoveryRequest>): void {
    this.stream.write(DeltaDiscoveryRequest.fromPartial(req));
  }

  private onResponse({ bytes, msg }: Received): void {
    this.seenTypes.add(msg.typeUrl);
    this.bytes += bytes;
    this.responses++;
    if (msg.typeUrl === TypeUrl.Cluster) {
      const added = msg.resources.map((r) => r.name);
      if (added.length || msg.removedResources.length) {
        this.send({ typeUrl: TypeUrl.Endpoint, resourceNamesSubscribe: added, resourceNamesUnsubscribe: msg.removedResources });
      }
    } else if (msg.typeUrl === TypeUrl.Listener) {
      // The mesh names each listener's route after it (public-<proxy>, upstream-<service>).
      const routes = msg.resources.map((r) => (r.name.startsWith('public_listener') ? `public-${this.proxy}` : `upstream-${r.name.split(':')[0] ?? ''}`));
      if (routes.length) this.send({ typeUrl: TypeUrl.Route, resourceNamesSubscribe: routes });
    }
    this.send({ typeUrl: msg.typeUrl, responseNonce: msg.nonce });
    this.lastAckAt = performance.timeOrigin + performance.now();
  }
}

function main(): void {
  let sidecars: Sidecar[] = [];
  const emit = (e: ClientEvent) => process.send?.(e);
  let timer: NodeJS.Timeout | undefined;
  let cpuAtMark = process.cpuUsage();
  process.on('message', (m: ClientCommand) => {
    if (m.cmd === 'start') {
      sidecars = m.proxies.map((p) => new Sidecar(m.port, p));
      timer = setInterval(() => emit({ ev: 'progress', ready: sidecars.filter((s) => s.ready).length, responses: sidecars.reduce((n, s) => n + s.responses, 0) }), 100);
    } else if (m.cmd === 'mark') {
      cpuAtMark = process.cpuUsage();
      for (const s of sidecars) s.mark();
      emit({ ev: 'marked' });
    } else if (m.cmd === 'report') {
      const cpu = process.cpuUsage(cpuAtMark);
      emit({ ev: 'report', cpuMs: (cpu.user + cpu.system) / 1000, stats: sidecars.filter((s) => s.responses > 0).map((s) => ({ proxy: s.proxy, lastAckAt: s.lastAckAt, bytes: s.bytes, responses: s.responses })) });
    } else {
      clearInterval(timer);
      for (const s of sidecars) s.close();
      process.exit(0);
    }
  });
}

main();
