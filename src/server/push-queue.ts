// Spreads pushes over the event loop. When one change touches many proxies (a roots rotation,
// an endpoint shared by the whole mesh), the source emits for every proxy at once; each stream's
// push (and every request a stream receives) is queued here and run in slices of at most
// `sliceMs`, yielding between slices so new connections, timers and other I/O are served meanwhile. A stream queued twice runs once (latest state).
//
// Two lanes: answers to the requests of streams already being served (ACKs, new RDS/EDS names)
// run before pushes still waiting. A mesh-wide change reaches a proxy in several round trips
// (Clusters, ACK, Endpoints and Listeners, ACK, the new Routes asked for); in one FIFO every
// round trip of every proxy waited behind the first push of all the others, so each proxy was
// done only after about three passes over the whole mesh. Answering first finishes the proxies
// already started, and a stream's first request (which starts it) waits in the push lane.
export class PushQueue {
  private readonly answers = new Set<() => void>();
  private readonly queue = new Set<() => void>();
  private scheduled = false;

  constructor(private readonly sliceMs = 5) {}

  enqueue(push: () => void): void {
    this.queue.add(push);
    this.schedule();
  }

  /** Queues the answer to a request of a stream already served: it runs before any push waiting. */
  enqueueAnswer(answer: () => void): void {
    this.answers.add(answer);
    this.schedule();
  }

  /** Forgets a push or answer not yet run (its stream closed). */
  cancel(push: () => void): void {
    this.queue.delete(push);
    this.answers.delete(push);
  }

  private schedule(): void {
    if (this.scheduled || (this.queue.size === 0 && this.answers.size === 0)) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  private next(): (() => void) | undefined {
    for (const lane of [this.answers, this.queue]) {
      for (const push of lane) {
        lane.delete(push);
        return push;
      }
    }
    return undefined;
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const end = performance.now() + this.sliceMs;
    for (let push = this.next(); push; push = this.next()) {
      push();
      if (performance.now() >= end) break;
    }
    this.schedule();
  };
}
