// Spreads pushes over the event loop. When one change touches many proxies (a roots rotation,
// an endpoint shared by the whole mesh), the source emits for every proxy at once; each stream's
// push (and every request a stream receives) is queued here and run in slices of at most
// `sliceMs`, yielding between slices so new connections, timers and other I/O are served meanwhile. A stream queued twice runs once (latest state).
export class PushQueue {
  private readonly queue = new Set<() => void>();
  private scheduled = false;

  constructor(private readonly sliceMs = 5) {}

  enqueue(push: () => void): void {
    this.queue.add(push);
    this.schedule();
  }

  /** Forgets a push not yet run (its stream closed). */
  cancel(push: () => void): void {
    this.queue.delete(push);
  }

  private schedule(): void {
    if (this.scheduled || this.queue.size === 0) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const end = performance.now() + this.sliceMs;
    for (const push of this.queue) {
      this.queue.delete(push);
      push();
      if (performance.now() >= end) break;
    }
    this.schedule();
  };
}
