// A secondary datacenter's CA follows the primary's: it watches the primary's roots with blocking
// queries, and whenever it has no intermediate, or the primary's active root is not the one its
// intermediate chains to (a rotation), or its intermediate is half way through its life, or its
// key settings changed, it has a new intermediate signed and installed. Failures are retried with
// capped, jittered backoff; the last one is kept so a leaf request that cannot be served says why.
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { backoffDelay, sleep } from './backoff.js';
import type { PrimaryCA, SignedIntermediate } from './primary-ca.js';
import type { CARoots } from './types.js';

/** A CSR from a fresh provider, and the step that installs what the primary signed. */
export interface PendingIntermediate {
  readonly csrPem: string;
  install(signed: SignedIntermediate, roots: CARoots): Promise<void>;
  /** Drops the provider and key made for it (the CSR was not signed). */
  discard(): Promise<void>;
}

/** What the follower needs of the local CA (CAService provides it). */
export interface SecondaryHost {
  /** Takes the primary's roots in; true when a new intermediate is needed. */
  applyPrimaryRoots(roots: CARoots): Promise<boolean>;
  prepareIntermediate(): Promise<PendingIntermediate>;
  /** When the intermediate in use should be renewed (ms since the epoch), if there is one. */
  intermediateRenewAt(): number | undefined;
}

export interface SecondaryFollowerDeps {
  readonly primary: PrimaryCA;
  readonly host: SecondaryHost;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random?: () => number;
}

class Interrupted extends Error {}

export class SecondaryFollower {
  private readonly stopping = new AbortController();
  private interrupt = (): void => undefined;
  /** Renewals asked for, and the last one done: one asked for while another runs is not lost. */
  private wanted = 0;
  private done = 0;
  private problem?: string;
  private cancelRenewTimer = (): void => undefined;
  private renewTimerAt?: number;
  private stopped?: Promise<void>;

  constructor(private readonly deps: SecondaryFollowerDeps) {}

  start(): void {
    this.stopped ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Interrupted('the CA is stopping'));
    this.cancelRenewTimer();
    await this.stopped;
  }

  /** Why the last attempt to reach the primary or install an intermediate failed (cleared by a success). */
  lastProblem(): string | undefined {
    return this.problem;
  }

  /** Gets a new intermediate now (key settings changed, or the current one is getting old). */
  requestRenewal(): void {
    this.wanted++;
    this.interrupt();
  }

  private async run(): Promise<void> {
    const { primary, host, logger } = this.deps;
    let index: number | undefined;
    let failures = 0;
    const onRetry = (err: unknown, delayMs: number) => {
      this.problem = errorMessage(err);
      logger.warn({ primary: primary.describe, retryInMs: Math.round(delayMs), err: this.problem }, 'cannot reach the primary datacenter CA; retrying');
    };
    while (!this.stopping.signal.aborted) {
      const wait = new AbortController();
      this.interrupt = () => wait.abort(new Interrupted('renewal requested'));
      const signal = AbortSignal.any([this.stopping.signal, wait.signal]);
      try {
        const roots = await primary.roots(this.wanted > this.done ? undefined : index, { signal, onRetry });
        index = roots.Index;
        const needed = await host.applyPrimaryRoots(roots);
        if (needed || this.wanted > this.done) {
          const generation = needed ? ++this.wanted : this.wanted;
          await this.renew(roots, onRetry);
          this.done = Math.max(this.done, generation);
        }
        failures = 0;
        this.problem = undefined;
        this.scheduleRenewal();
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        if (err instanceof Interrupted) continue;
        failures++;
        this.problem = errorMessage(err);
        const delay = backoffDelay(failures, { random: this.deps.random });
        logger.warn({ primary: primary.describe, retryInMs: Math.round(delay), err: this.problem }, 'secondary CA could not follow the primary; retrying');
        await sleep(this.deps.clock, delay, this.stopping.signal).catch(() => undefined);
      }
    }
  }

  private async renew(roots: CARoots, onRetry: (err: unknown, delayMs: number) => void): Promise<void> {
    const { primary, host } = this.deps;
    // Not interruptible by a renewal request: the CSR would only be made again.
    const signal = this.stopping.signal;
    const pending = await host.prepareIntermediate();
    try {
      const signed = await primary.signIntermediate(pending.csrPem, { signal, onRetry });
      // The primary rotated between the roots and the signature: install against roots that list its signer.
      const current = roots.Roots.some((r) => r.ID === signed.rootId) ? roots : await primary.roots(undefined, { signal, onRetry });
      await pending.install(signed, current);
    } catch (err) {
      await pending.discard();
      throw err;
    }
  }

  private scheduleRenewal(): void {
    const at = this.deps.host.intermediateRenewAt();
    if (at === this.renewTimerAt) return;
    this.cancelRenewTimer();
    this.renewTimerAt = at;
    if (at === undefined) return;
    this.cancelRenewTimer = this.deps.clock.setTimeout(() => {
      this.renewTimerAt = undefined;
      this.deps.logger.info({}, 'secondary CA intermediate is half way through its life; renewing');
      this.requestRenewal();
    }, at - this.deps.clock.now());
  }
}
