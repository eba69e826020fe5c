// CSR rate limiting with Consul's settings: `csr_max_concurrent` (when non-zero, a cap on
// signings in flight, taking precedence) or `csr_max_per_second` (a token bucket whose burst is
// one second's worth). Over the limit the request is refused at once with a RateLimitError.
import type { Clock } from '../core/clock.js';
import { RateLimitError } from '../core/errors.js';

export interface CsrLimits {
  readonly CSRMaxPerSecond: number;
  readonly CSRMaxConcurrent: number;
}

export class CsrLimiter {
  private tokens: number;
  private last: number;
  private inFlight = 0;

  constructor(
    private readonly clock: Clock,
    private limits: CsrLimits,
  ) {
    this.tokens = this.burst;
    this.last = clock.now();
  }

  private get burst(): number {
    return Math.max(1, Math.ceil(this.limits.CSRMaxPerSecond));
  }

  update(limits: CsrLimits): void {
    this.limits = limits;
    this.tokens = Math.min(this.tokens, this.burst);
  }

  /** Takes a slot or throws RateLimitError; call the returned function when the signing ends. */
  acquire(): () => void {
    const { CSRMaxConcurrent: maxConcurrent, CSRMaxPerSecond: perSecond } = this.limits;
    if (maxConcurrent > 0) {
      if (this.inFlight >= maxConcurrent) {
        throw new RateLimitError(`rate limit reached: ${maxConcurrent} certificate signing requests already in flight (csr_max_concurrent), try again later`);
      }
      this.inFlight++;
      let released = false;
      return () => {
        if (!released) this.inFlight--;
        released = true;
      };
    }
    if (perSecond > 0) {
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * perSecond);
      this.last = now;
      if (this.tokens < 1) {
        throw new RateLimitError(`rate limit reached: more than ${perSecond} certificate signing requests per second (csr_max_per_second), try again later`);
      }
      this.tokens -= 1;
    }
    return () => undefined;
  }
}
