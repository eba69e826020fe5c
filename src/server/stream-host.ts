// The I/O shell shared by delta and SotW streams: admits the stream within the port's limits,
// reads requests, checks the node, watches the proxy's desired resources, writes encoded
// responses and ends the stream with the right status. What to send is decided by the session
// driver (delta/driver.ts, sotw/driver.ts); how many streams may be held, by admission.ts.
import { status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Subscription as RxSubscription } from 'rxjs';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ResourceSet } from '../core/resources.js';
import { isXdsTypeUrl, typeNameOf, type XdsTypeUrl } from '../core/type-urls.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';
import { TOKEN_METADATA_KEY } from '../xds/bootstrap.js';
import type { SeenOnce, StreamAdmission } from './admission.js';
import { isGrpcClient } from './clients.js';
import type { XdsMetricsSink } from './metrics.js';
import type { PushQueue } from './push-queue.js';
import { nodeProblem, RejectedRequest } from './request-bounds.js';
import { Denied, NOT_REGISTERED, Waiting, type PendingResourceSet, type ProxyResourceSource } from './source.js';
import type { StreamKind, StreamStatusHandle, XdsStatusRegistry } from './status.js';

export interface StreamDeps {
  readonly source: ProxyResourceSource;
  readonly logger: Logger;
  readonly status: XdsStatusRegistry;
  /** Where pushes caused by desired-set changes wait their turn. */
  readonly pushes: PushQueue;
  /** Every open stream's way to end it with a status (the server's shutdown uses it). */
  readonly open: Set<(code: Status, details: string) => void>;
  /** The port's stream limits: in all, per node id, waiting for a registration. */
  readonly admission: StreamAdmission;
  /** Per-proxy events already logged: a refused or waiting client that retries is not logged again. */
  readonly logged: SeenOnce;
  readonly metrics: XdsMetricsSink;
}

/** What a driver may use of its stream. */
export interface StreamContext {
  readonly node: Node;
  readonly log: Logger;
  /** The stream's child logger for one type (cached). */
  logFor(typeUrl: XdsTypeUrl): Logger;
  readonly status: StreamStatusHandle;
  readonly metrics: XdsMetricsSink;
  /** The proxy's desired resources; undefined until it is registered. */
  desired(): ResourceSet | undefined;
  nextNonce(): string;
  write(bytes: Buffer): void;
}

export interface SessionDriver<Req> {
  /** One request whose type URL has been checked. */
  request(req: Req, typeUrl: XdsTypeUrl): void;
  /** The desired set changed (or arrived): send what differs. */
  desiredChanged(): void;
}

interface AdsRequest {
  readonly node?: Node | undefined;
  readonly typeUrl: string;
}

let streamSeq = 0;

/**
 * The token a stream presents (never logged): gRPC metadata `x-consul-token` (Consul's, what
 * Envoy's bootstrap sends as initial metadata), else `authorization: Bearer <token>` (gRPC call
 * credentials). gRPC's xDS libraries cannot add metadata to their ADS stream (grpc-js-xds 1.14
 * has no call credentials in its bootstrap), so a proxyless gRPC client may instead carry it in
 * its bootstrap's node metadata under `x-consul-token`.
 */
function streamToken(call: ServerDuplexStream<unknown, unknown>, node: Node): string | undefined {
  const first = (key: string) => {
    const value = call.metadata.get(key)[0];
    return (typeof value === 'string' ? value : value?.toString('utf8'))?.trim() || undefined;
  };
  const bearer = first('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1];
  const inNode: unknown = isGrpcClient(node) ? node.metadata?.[TOKEN_METADATA_KEY] : undefined;
  return first(TOKEN_METADATA_KEY) ?? bearer ?? ((typeof inNode === 'string' && inNode.trim()) || undefined);
}

const DENIED_STATUS: Record<Denied['kind'], Status> = { unauthenticated: Status.UNAUTHENTICATED, 'permission-denied': Status.PERMISSION_DENIED };


export function serveStream<Req extends AdsRequest>(
  call: ServerDuplexStream<Req | RejectedRequest, Buffer>,
  deps: StreamDeps,
  kind: StreamKind,
  makeDriver: (ctx: StreamContext) => SessionDriver<Req>,
): void {
  const streamId = `${kind}-${++streamSeq}`;
  let log = deps.logger.child({ stream: streamId });
  const admitted = deps.admission.admit();
  if ('refusal' in admitted) {
    // Once per run of refusals: a full server refuses every retry of every client.
    if (admitted.refusedInARow === 1) log.warn({ limit: deps.admission.limits.maxStreams }, `refusing new xDS streams: ${admitted.refusal}`);
    call.emit('error', { code: Status.RESOURCE_EXHAUSTED, details: admitted.refusal });
    return;
  }
  if (admitted.refusedBefore > 0) log.info({ refused: admitted.refusedBefore }, `accepting xDS streams again, after refusing ${admitted.refusedBefore}`);
  const ticket = admitted.ticket;
  let driver: SessionDriver<Req> | undefined;
  let statusHandle: StreamStatusHandle | undefined;
  let watch: RxSubscription | undefined;
  let desired: ResourceSet | undefined;
  // The latest desired set not computed yet (it replaces `desired` when computed).
  let pending: PendingResourceSet | undefined;
  /** When the oldest desired set not handled yet arrived (for the push latency). */
  let pendingSince: number | undefined;
  let registered = false;
  let nonceSeq = 0;
  let closed = false;
  // Requests and desired-set changes (coalesced) both wait their turn in deps.pushes.
  const push = () => {
    if (closed) return;
    try {
      driver?.desiredChanged();
      if (pendingSince !== undefined) deps.metrics.pushLatency(deps.metrics.now() - pendingSince);
      pendingSince = undefined;
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'push failed');
      fail(Status.INTERNAL, errorMessage(err));
    }
  };

  const cleanup = () => {
    if (closed) return;
    closed = true;
    deps.open.delete(fail);
    deps.pushes.cancel(push);
    deps.pushes.cancel(handleInbox);
    watch?.unsubscribe();
    statusHandle?.close();
    ticket.release();
    log.debug('stream closed');
  };
  const fail = (code: Status, details: string) => {
    if (closed) return;
    log.info({ code: Status[code] }, `ending stream: ${details}`);
    cleanup();
    call.emit('error', { code, details });
  };
  /** Ends the stream with RESOURCE_EXHAUSTED, logged once per proxy and reason (the client retries). */
  const refuse = (proxy: string, reason: string, details: string) => {
    if (deps.logged.first(`${reason}:${proxy}`)) log.info({ code: 'RESOURCE_EXHAUSTED' }, `refusing stream: ${details}`);
    cleanup();
    call.emit('error', { code: Status.RESOURCE_EXHAUSTED, details });
  };
  deps.open.add(fail);

  const start = (node: Node) => {
    const proxy = node.id;
    log = log.child({ proxy });
    // gRPC clients are held only to the total: a deployment's replicas often share one node id.
    const refusal = isGrpcClient(node) ? undefined : ticket.claimNode(proxy);
    if (refusal) return refuse(proxy, 'per-node', refusal);
    deps.logged.forget(`per-node:${proxy}`);
    statusHandle = deps.status.openStream(proxy, streamId, kind);
    const status = statusHandle;
    let generationError: string | undefined;
    const typeLogs = new Map<XdsTypeUrl, Logger>();
    const streamLog = log;
    const ctx: StreamContext = {
      node,
      log,
      logFor: (typeUrl) => {
        let l = typeLogs.get(typeUrl);
        if (!l) typeLogs.set(typeUrl, (l = streamLog.child({ type: typeNameOf(typeUrl) })));
        return l;
      },
      status,
      metrics: deps.metrics,
      desired: () => {
        const compute = pending;
        pending = undefined;
        if (!compute) return desired;
        const started = deps.metrics.now();
        try {
          desired = compute();
          deps.metrics.generated(deps.metrics.now() - started);
        } catch (err) {
          // The stream stays, with its last good set: the client keeps serving it, and the next
          // change of the proxy's inputs is generated again.
          const error = `generating resources for proxy ${proxy} failed: ${errorMessage(err)}`;
          if (error !== generationError) streamLog.warn({ err: errorMessage(err) }, 'generation failed; keeping the last good configuration');
          generationError = error;
          status.generationFailed(error);
          return desired;
        }
        if (generationError !== undefined) streamLog.info('generation succeeded again');
        generationError = undefined;
        status.generated();
        return desired;
      },
      nextNonce: () => String(++nonceSeq),
      write: (bytes) => {
        if (!closed) call.write(bytes);
      },
    };
    driver = makeDriver(ctx);
    /** Why the stream waits, while it does. */
    let waiting: string | undefined;
    watch = deps.source.watch(proxy, node, { token: streamToken(call, node) }).subscribe({
      next: (set) => {
        if (set instanceof Denied) {
          // Once per proxy and reason: a refused Envoy retries with backoff for as long as it runs.
          const code = Status[DENIED_STATUS[set.kind]];
          if (deps.logged.first(`denied:${proxy}:${set.message}`)) log.warn({ code }, `refusing stream: ${set.message}`);
          status.denied(code, set.message);
          return fail(DENIED_STATUS[set.kind], set.message);
        }
        if (set !== undefined && !(set instanceof Waiting)) status.denied(null);
        if (set === undefined || set instanceof Waiting) {
          const reason = set?.reason ?? NOT_REGISTERED;
          if (registered) return fail(Status.ABORTED, set ? `proxy ${proxy}: ${reason}` : `proxy ${proxy} was deregistered`);
          if (waiting === reason) return;
          if (!waiting) {
            const tooMany = ticket.startWaiting(proxy);
            if (tooMany) return refuse(proxy, 'waiting', tooMany);
          }
          waiting = reason;
          status.waiting(reason);
          if (deps.logged.first(`${reason}:${proxy}`)) {
            log.info(set ? `${reason}: the stream waits, sending nothing` : `${NOT_REGISTERED}: the stream waits for its registration, sending nothing`);
          }
          return;
        }
        if (!registered) {
          registered = true;
          if (waiting) {
            log.info(`${waiting === NOT_REGISTERED ? 'proxy registered' : 'proxy can be served'}: the stream stops waiting`);
            deps.logged.forget(`${waiting}:${proxy}`);
          }
          waiting = undefined;
          ticket.stopWaiting();
          status.waiting(null);
          deps.logged.forget(`waiting:${proxy}`);
        }
        // A set given ready-made is taken like a computed one (it clears a generation error).
        pending = typeof set === 'function' ? set : () => set;
        pendingSince ??= deps.metrics.now();
        deps.pushes.enqueue(push);
      },
      complete: () => fail(Status.ABORTED, `resource source for proxy ${proxy} is gone`),
      error: (err: unknown) => fail(Status.UNAVAILABLE, `resource source for proxy ${proxy} failed: ${errorMessage(err)}`),
    });
    if (closed) watch.unsubscribe();
    else log.info('stream opened');
  };

  const handle = (req: Req | RejectedRequest) => {
    if (closed) return;
    try {
      if (req instanceof RejectedRequest) return fail(Status.INVALID_ARGUMENT, req.reason);
      if (!driver) {
        const problem = nodeProblem(req.node);
        if (problem) return fail(Status.INVALID_ARGUMENT, problem);
        start(req.node as Node);
        if (closed) return;
      }
      if (!isXdsTypeUrl(req.typeUrl)) return fail(Status.INVALID_ARGUMENT, `unsupported type URL "${req.typeUrl}"`);
      driver?.request(req, req.typeUrl);
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'request handling failed');
      fail(Status.INTERNAL, errorMessage(err));
    }
  };
  // Requests are handled in the push queue's slices, not in the socket's data callback: when
  // thousands of streams open at once (an agent restart), handling every first request (watch,
  // generate, write) inside the I/O phase that delivered them held the event loop for seconds, so
  // connections waited to be accepted and timers (keepalives, the CSR queue) fired late.
  const inbox: (Req | RejectedRequest)[] = [];
  const handleInbox = () => {
    for (const req of inbox.splice(0)) handle(req);
  };
  call.on('data', (req: Req | RejectedRequest) => {
    if (closed) return;
    inbox.push(req);
    // A served stream's requests are answered before waiting pushes; its first one waits its turn.
    if (driver) deps.pushes.enqueueAnswer(handleInbox);
    else deps.pushes.enqueue(handleInbox);
  });
  call.on('end', () => {
    cleanup();
    call.end();
  });
  call.on('cancelled', cleanup);
  call.on('error', cleanup);
  call.on('close', cleanup);
}

const PEM = /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g;

/** A client's NACK text fit for logs and status: PEM bodies removed, length bounded. */
export function clientErrorText(message: string | undefined): string {
  const text = (message ?? '').replace(PEM, '[PEM removed]');
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}
