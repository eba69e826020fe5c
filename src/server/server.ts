// startXdsServer: one gRPC port serving envoy.service.discovery.v3.AggregatedDiscoveryService,
// delta (DeltaAggregatedResources) for Envoy and state-of-the-world (StreamAggregatedResources)
// for proxyless gRPC and older Envoys.
import { Server, ServerCredentials, status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../core/logger.js';
import type { DeltaDiscoveryRequest, DiscoveryRequest } from '../gen/envoy/service/discovery/v3/discovery.js';
import { DEFAULT_XDS_LIMITS, SeenOnce, StreamAdmission, type XdsStreamLimits } from './admission.js';
import { deltaDriver } from './delta/driver.js';
import { PushQueue } from './push-queue.js';
import type { RejectedRequest } from './request-bounds.js';
import { AdsService } from './service.js';
import { sotwDriver } from './sotw/driver.js';
import type { ProxyResourceSource } from './source.js';
import { XdsStatusRegistry } from './status.js';
import { serveStream, type StreamDeps } from './stream-host.js';

export interface XdsServerOptions {
  readonly source: ProxyResourceSource;
  readonly logger: Logger;
  /** Defaults to a new registry; pass one to share it with the HTTP API. */
  readonly status?: XdsStatusRegistry;
  /** Defaults to 127.0.0.1. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Defaults to insecure (loopback); pass TLS credentials for other binds. */
  readonly credentials?: ServerCredentials;
  /** Longest stretch (ms) of queued pushes run before yielding to I/O; default 5. */
  readonly pushSliceMs?: number;
  /** Stream limits, each defaulting to DEFAULT_XDS_LIMITS'. */
  readonly limits?: Partial<XdsStreamLimits>;
}

export interface XdsServer {
  readonly port: number;
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
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${opts.port ?? 0}`, opts.credentials ?? ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  logger.info({ host, port }, 'xDS server listening');
  return {
    port,
    status,
    close: (timeoutMs = 1000) =>
      new Promise<void>((resolve) => {
        const streams = deps.open.size;
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
