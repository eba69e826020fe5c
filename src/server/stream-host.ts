// The I/O shell shared by delta and SotW streams: reads requests, checks the node, watches the
// proxy's desired resources, writes encoded responses and ends the stream with the right status.
// What to send is decided by the session driver (delta/driver.ts, sotw/driver.ts).
import { status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Subscription as RxSubscription } from 'rxjs';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ResourceSet } from '../core/resources.js';
import { isXdsTypeUrl, typeNameOf, type XdsTypeUrl } from '../core/type-urls.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';
import type { PushQueue } from './push-queue.js';
import type { PendingResourceSet, ProxyResourceSource } from './source.js';
import type { StreamKind, StreamStatusHandle, XdsStatusRegistry } from './status.js';

export interface StreamDeps {
  readonly source: ProxyResourceSource;
  readonly logger: Logger;
  readonly status: XdsStatusRegistry;
  /** Where pushes caused by desired-set changes wait their turn. */
  readonly pushes: PushQueue;
  /** Every open stream's way to end it with a status (the server's shutdown uses it). */
  readonly open: Set<(code: Status, details: string) => void>;
}

/** What a driver may use of its stream. */
export interface StreamContext {
  readonly node: Node;
  readonly log: Logger;
  /** The stream's child logger for one type (cached). */
  logFor(typeUrl: XdsTypeUrl): Logger;
  readonly status: StreamStatusHandle;
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

/** A pending set that threw when computed: generation failed, as when the source errors. */
class GenerationFailed extends Error {}

/** Unavailable for a failed generation (the source's contract), Internal for anything else. */
function failureCode(err: unknown): Status {
  return err instanceof GenerationFailed ? Status.UNAVAILABLE : Status.INTERNAL;
}

export function serveStream<Req extends AdsRequest>(
  call: ServerDuplexStream<Req, Buffer>,
  deps: StreamDeps,
  kind: StreamKind,
  makeDriver: (ctx: StreamContext) => SessionDriver<Req>,
): void {
  const streamId = `${kind}-${++streamSeq}`;
  let log = deps.logger.child({ stream: streamId });
  let driver: SessionDriver<Req> | undefined;
  let statusHandle: StreamStatusHandle | undefined;
  let watch: RxSubscription | undefined;
  let desired: ResourceSet | undefined;
  // The latest desired set not computed yet (it replaces `desired` when computed).
  let pending: PendingResourceSet | undefined;
  let registered = false;
  let nonceSeq = 0;
  let closed = false;
  // A request is answered at once; a desired-set change is queued (and coalesced) in deps.pushes.
  const push = () => {
    if (closed) return;
    try {
      driver?.desiredChanged();
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'push failed');
      fail(failureCode(err), errorMessage(err));
    }
  };

  const cleanup = () => {
    if (closed) return;
    closed = true;
    deps.open.delete(fail);
    deps.pushes.cancel(push);
    watch?.unsubscribe();
    statusHandle?.close();
    log.debug('stream closed');
  };
  const fail = (code: Status, details: string) => {
    if (closed) return;
    log.info({ code: Status[code] }, `ending stream: ${details}`);
    cleanup();
    call.emit('error', { code, details });
  };
  deps.open.add(fail);

  const start = (node: Node) => {
    const proxy = node.id;
    log = log.child({ proxy });
    statusHandle = deps.status.openStream(proxy, streamId, kind);
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
      status: statusHandle,
      desired: () => {
        const compute = pending;
        pending = undefined;
        try {
          desired = compute?.() ?? desired;
        } catch (err) {
          throw new GenerationFailed(`generating resources for proxy ${proxy} failed: ${errorMessage(err)}`);
        }
        return desired;
      },
      nextNonce: () => String(++nonceSeq),
      write: (bytes) => {
        if (!closed) call.write(bytes);
      },
    };
    driver = makeDriver(ctx);
    watch = deps.source.watch(proxy, node).subscribe({
      next: (set) => {
        if (set === undefined) {
          if (registered) fail(Status.ABORTED, `proxy ${proxy} was deregistered`);
          return;
        }
        registered = true;
        if (typeof set === 'function') pending = set;
        else [desired, pending] = [set, undefined];
        deps.pushes.enqueue(push);
      },
      complete: () => fail(Status.ABORTED, `resource source for proxy ${proxy} is gone`),
      error: (err: unknown) => fail(Status.UNAVAILABLE, `generating resources for proxy ${proxy} failed: ${errorMessage(err)}`),
    });
    if (closed) watch.unsubscribe();
    log.info('stream opened');
  };

  call.on('data', (req: Req) => {
    if (closed) return;
    try {
      if (!driver) {
        if (!req.node?.id) return fail(Status.INVALID_ARGUMENT, 'the first request of a stream must carry a node with an id');
        start(req.node);
        if (closed) return;
      }
      if (!isXdsTypeUrl(req.typeUrl)) return fail(Status.INVALID_ARGUMENT, `unsupported type URL "${req.typeUrl}"`);
      driver?.request(req, req.typeUrl);
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'request handling failed');
      fail(failureCode(err), errorMessage(err));
    }
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
