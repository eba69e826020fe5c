// How many streams the xDS port holds: in all, per node id, and waiting for a proxy that is not
// registered. Each stream holds one Ticket; what it claims is counted until it releases it. A
// refusal is a message for a RESOURCE_EXHAUSTED status, which Envoy and gRPC clients answer by
// backing off and retrying. Plain counting, no I/O: the stream shell (stream-host.ts) logs.

export interface XdsStreamLimits {
  /** Open streams in all (config `limits.xds_max_streams`). */
  readonly maxStreams: number;
  /** Open streams of one node id, gRPC clients aside; a hot restart needs 2. */
  readonly maxStreamsPerNode: number;
  /** Streams waiting for a proxy that is not registered. */
  readonly maxWaitingStreams: number;
}

export const DEFAULT_XDS_LIMITS: XdsStreamLimits = { maxStreams: 10_000, maxStreamsPerNode: 4, maxWaitingStreams: 1_000 };

export interface Ticket {
  /** Counts the stream against its node id; a refusal message when that node has its limit. */
  claimNode(nodeId: string): string | undefined;
  /** Counts the stream as waiting for its (unregistered) proxy; a refusal message when too many wait. */
  startWaiting(nodeId: string): string | undefined;
  stopWaiting(): void;
  /** Releases everything the stream holds (idempotent). */
  release(): void;
}

export class StreamAdmission {
  private open = 0;
  private waiting = 0;
  private readonly perNode = new Map<string, number>();
  /** Streams refused for the total limit since one was last admitted. */
  private refusedInARow = 0;

  constructor(readonly limits: XdsStreamLimits = DEFAULT_XDS_LIMITS) {}

  /** A ticket for a new stream, or the refusal message when the server holds its maximum. */
  admit(): { ticket: Ticket; refusedBefore: number } | { refusal: string; refusedInARow: number } {
    if (this.open >= this.limits.maxStreams) {
      return { refusal: `the xDS server is at its limit of open streams (${this.limits.maxStreams}: limits.xds_max_streams, -xds-max-streams); retry later`, refusedInARow: ++this.refusedInARow };
    }
    const refusedBefore = this.refusedInARow;
    this.refusedInARow = 0;
    this.open++;
    return { ticket: this.ticket(), refusedBefore };
  }

  /** Streams open, by what they hold. */
  counts(): { open: number; waiting: number; nodes: number } {
    return { open: this.open, waiting: this.waiting, nodes: this.perNode.size };
  }

  private ticket(): Ticket {
    let node: string | undefined;
    let waiting = false;
    let released = false;
    const stopWaiting = () => {
      if (waiting) this.waiting--;
      waiting = false;
    };
    return {
      claimNode: (nodeId) => {
        if (released || node !== undefined) return undefined;
        const n = this.perNode.get(nodeId) ?? 0;
        if (n >= this.limits.maxStreamsPerNode) {
          return `node "${nodeId}" already has the most open xDS streams one node id may have (${this.limits.maxStreamsPerNode}); retry once one has closed`;
        }
        this.perNode.set(nodeId, n + 1);
        node = nodeId;
        return undefined;
      },
      startWaiting: (nodeId) => {
        if (released || waiting) return undefined;
        if (this.waiting >= this.limits.maxWaitingStreams) {
          return `proxy "${nodeId}" is not registered, and the most streams that may wait for a registration (${this.limits.maxWaitingStreams}) already do; register it, then retry`;
        }
        this.waiting++;
        waiting = true;
        return undefined;
      },
      stopWaiting,
      release: () => {
        if (released) return;
        released = true;
        stopWaiting();
        this.open--;
        if (node !== undefined) {
          const n = (this.perNode.get(node) ?? 1) - 1;
          if (n > 0) this.perNode.set(node, n);
          else this.perNode.delete(node);
        }
      },
    };
  }
}

/** Keys seen recently, at most `max` (the oldest forgotten first): "log this once per proxy". */
export class SeenOnce {
  private readonly seen = new Set<string>();

  constructor(private readonly max = 10_000) {}

  /** True the first time `key` is seen (since it was forgotten or evicted). */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    for (const oldest of this.seen) {
      if (this.seen.size <= this.max) break;
      this.seen.delete(oldest);
    }
    return true;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}
