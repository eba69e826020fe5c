// startXdsServer: one gRPC port serving envoy.service.discovery.v3.AggregatedDiscoveryService,
// delta (DeltaAggregatedResources) for Envoy and state-of-the-world (StreamAggregatedResources)
// for proxyless gRPC and older Envoys.
import { Server, ServerCredentials, status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import type { Logger } from '../core/logger.js';
import type { DeltaDiscoveryRequest, DiscoveryRequest } from '../gen/envoy/service/discovery/v3/discovery.js';
import { DEFAULT_XDS_LIMITS, SeenOnce, StreamAdmission, type XdsStreamLimits } from './admission.js';
import { deltaDriver } from './delta/driver.js';
import { PushQueue } from './push-queue.js';
import type { RejectedRequest } from './request-bounds.js';
import { AdsService } from './service.js';
import { sotwDriver } from './sotw/driver.js';
import type { ProxyResourceSource } from './source.js';
import { nullXdsMetrics, type XdsMetricsSink } from './metrics.js';
import { XdsStatusRegistry } from './status.js';
import { serveStream, type StreamDeps } from './stream-host.js';
import { tlsServerCredentials } from './tls-credentials.js';
import type { TlsListener } from '../core/tls.js';

export interface XdsServerOptions {
  readonly source: ProxyResourceSource;
  readonly logger: Logger;
  /** Defaults to a new registry; pass one to share it with the HTTP API. */
  readonly status?: XdsStatusRegistry;
  /** Defaults to 127.0.0.1. */
  readonly host?: string;
  /** 0 (the default) picks a free port; -1 serves no plaintext port (only `tls`). */
  readonly port?: number;
  /** A second port serving the same streams over TLS (Consul's ports.grpc_tls); 0 picks a free port. */
  readonly tls?: { readonly port: number; readonly listener: TlsListener };
  /** Defaults to insecure (loopback); pass TLS credentials for other binds. */
  readonly credentials?: ServerCredentials;
  /** Longest stretch (ms) of queued pushes run before yielding to I/O; default 5. */
  readonly pushSliceMs?: number;
  /** Stream limits, each defaulting to DEFAULT_XDS_LIMITS'. */
  readonly limits?: Partial<XdsStreamLimits>;
  /** Connections the kernel queues until they are accepted; default LISTEN_BACKLOG. */
  readonly listenBacklog?: number;
  /** Where pushes, bytes, NACKs and timings are counted (default: nowhere). */
  readonly metrics?: XdsMetricsSink;
}

/**
 * Connections the kernel holds until they are accepted (Node's default is 511; Linux caps it at
 * net.core.somaxconn, 4096 by default). After an agent restart every Envoy reconnects within the
 * same second: past the backlog the kernel answers with SYN cookies and drops handshakes, and a
 * client whose cookie no longer validates when its retransmission finally arrives gets a reset
 * before the HTTP/2 preface.
 */
export const LISTEN_BACKLOG = 4096;

/** Listens on `host:port` with the given backlog, handing every connection to the gRPC server. */
function listen(server: Server, credentials: ServerCredentials, host: string, port: number, backlog: number): Promise<TcpServer> {
  // grpc-js listens with Node's default backlog and has no option for it: we own the listening
  // socket and inject each connection (grpc-js 1.14's connection injector), credentials and all.
  const injector = server.createConnectionInjector(credentials);
  const tcp = createTcpServer((socket) => injector.injectConnection(socket));
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ host, port, backlog }, () => {
      tcp.off('error', reject);
      resolve(tcp);
    });
  });
}

export interface XdsServer {
  /** The plaintext port, -1 when there is none. */
  readonly port: number;
  /** The TLS port, -1 when there is none. */
  readonly tlsPort: number;
  readonly status: XdsStatusRegistry;
  /**
   * Stops accepting streams and ends every open one with UNAVAILABLE ("shutting down"), so a
   * client keeps its configuration and reconnects with backoff; connections still open after
   * `timeoutMs` (default 1 s) are cut.
   */
  close(timeoutMs?: number): Promise<void>;
}

export async function startXdsServer(opts: XdsServerOptions): Promise<XdsServer> {
  const status = opts.status ?? new XdsStatusRegistry();
  const logger = opts.logger.child({ component: 'xds' });
  const deps: StreamDeps = {
    source: opts.source,
    logger,
    status,
    pushes: new PushQueue(opts.pushSliceMs),
    open: new Set(),
    admission: new StreamAdmission({
      maxStreams: opts.limits?.maxStreams ?? DEFAULT_XDS_LIMITS.maxStreams,
      maxStreamsPerNode: opts.limits?.maxStreamsPerNode ?? DEFAULT_XDS_LIMITS.maxStreamsPerNode,
      maxWaitingStreams: opts.limits?.maxWaitingStreams ?? DEFAULT_XDS_LIMITS.maxWaitingStreams,
    }),
    logged: new SeenOnce(),
    metrics: opts.metrics ?? nullXdsMetrics,
  };
  const server = new Server({
    // Envoy and gRPC clients keep ADS streams open for hours; keepalive detects dead peers.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  server.addService(AdsService, {
    deltaAggregatedResources: (call: ServerDuplexStream<DeltaDiscoveryRequest | RejectedRequest, Buffer>) => serveStream(call, deps, 'delta', deltaDriver),
    streamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest | RejectedRequest, Buffer>) => serveStream(call, deps, 'sotw', sotwDriver),
  });
  const host = opts.host ?? '127.0.0.1';
  const backlog = opts.listenBacklog ?? LISTEN_BACKLOG;
  const tcps: TcpServer[] = [];
  const portOf = (tcp: TcpServer) => (tcp.address() as AddressInfo).port;
  let port = -1;
  let tlsPort = -1;
  try {
    if ((opts.port ?? 0) >= 0) {
      tcps.push(await listen(server, opts.credentials ?? ServerCredentials.createInsecure(), host, opts.port ?? 0, backlog));
      port = portOf(tcps[tcps.length - 1] as TcpServer);
    }
    if (opts.tls) {
      tcps.push(await listen(server, tlsServerCredentials(opts.tls.listener), host, opts.tls.port, backlog));
      tlsPort = portOf(tcps[tcps.length - 1] as TcpServer);
    }
  } catch (err) {
    for (const tcp of tcps) tcp.close();
    throw err;
  }
  logger.info({ host, port, tlsPort, verifyIncoming: opts.tls?.listener.verifyIncoming ?? false }, 'xDS server listening');
  return {
    port,
    tlsPort,
    status,
    close: (timeoutMs = 1000) =>
      new Promise<void>((resolve) => {
        const streams = deps.open.size;
        for (const tcp of tcps) tcp.close();
        for (const end of [...deps.open]) end(Status.UNAVAILABLE, 'the xDS server is shutting down');
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        // GOAWAY, then each connection closes once its (now ended) streams are done.
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
        logger.info({ streams }, 'xDS server stopped');
      }),
  };
}
