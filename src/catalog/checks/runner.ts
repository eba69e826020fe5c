// Runs the agent's checks: HTTP, TCP and gRPC probes every Interval (each bounded by Timeout),
// and TTL checks that turn critical when not updated within their TTL. Status changes go to the
// catalog; the schedule follows the catalog (checks added, changed or removed). Time comes from
// the injected clock; each probe's own timeout is real time (it bounds real network I/O).
import type { Subscription } from 'rxjs';
import { parseDuration } from '../../core/duration.js';
import type { Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { nullLogger, type Logger } from '../../core/logger.js';
import type { Catalog } from '../catalog.js';
import type { HealthCheck, HealthCheckDefinition } from '../types.js';
import type { ProbeResult, Probes } from './probes.js';

const DEFAULT_TIMEOUT_MS = 10_000;
/** Consul's MinInterval: a shorter Interval (even 0s, which the schema accepts) is raised to it. */
const MIN_INTERVAL_MS = 1000;
/** Consul's minimum DeregisterCriticalServiceAfter: a shorter one (a service is critical at registration) is raised to it. */
const MIN_DEREGISTER_AFTER_MS = 60_000;

interface Scheduled {
  readonly key: string;
  cancel: () => void;
  /** A TTL check that is not critical: restarts its TTL (a heartbeat). */
  restart?: () => void;
}

export interface CheckRunnerDeps {
  readonly clock: Clock;
  readonly probes: Probes;
  readonly logger?: Logger;
}

export class CheckRunner {
  private readonly scheduled = new Map<string, Scheduled>();
  /** Critical checks whose service goes after DeregisterCriticalServiceAfter: cancel by CheckID. */
  private readonly reaping = new Map<string, () => void>();
  private sub: Subscription | undefined;
  private heartbeats: Subscription | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly catalog: Catalog,
    private readonly deps: CheckRunnerDeps,
  ) {
    this.logger = (deps.logger ?? nullLogger).child({ component: 'checks' });
  }

  start(): void {
    this.sub = this.catalog.agentChecks().subscribe((r) => this.sync(r.value));
    // An update that changes nothing writes nothing, so sync() never sees it: restart here.
    this.heartbeats = this.catalog.watchCheckUpdates().subscribe((id) => this.scheduled.get(id)?.restart?.());
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.heartbeats?.unsubscribe();
    for (const s of this.scheduled.values()) s.cancel();
    this.scheduled.clear();
    for (const cancel of this.reaping.values()) cancel();
    this.reaping.clear();
  }

  private sync(list: readonly HealthCheck[]): void {
    const seen = new Set<string>();
    for (const c of list) {
      const def = c.Definition;
      if (!def) continue;
      seen.add(c.CheckID);
      this.reap(c, def);
      // A TTL check restarts its timer whenever it is written (an update) while not critical.
      const key = def.TTL ? `${JSON.stringify(def)}@${c.ModifyIndex}` : JSON.stringify(def);
      const current = this.scheduled.get(c.CheckID);
      if (current?.key === key) continue;
      current?.cancel();
      if (def.TTL) this.scheduleTtl(c, def.TTL, key);
      else this.scheduleProbe(c.CheckID, def, key);
    }
    for (const [id, s] of this.scheduled) {
      if (!seen.has(id)) {
        s.cancel();
        this.scheduled.delete(id);
      }
    }
    for (const [id, cancel] of this.reaping) {
      if (!seen.has(id)) {
        cancel();
        this.reaping.delete(id);
      }
    }
  }

  /** Consul's DeregisterCriticalServiceAfter: a service whose check stays critical that long is deregistered. */
  private reap(c: HealthCheck, def: HealthCheckDefinition): void {
    const after = def.DeregisterCriticalServiceAfter;
    const tracked = this.reaping.get(c.CheckID);
    if (!after || c.Status !== 'critical' || !c.ServiceID) {
      tracked?.();
      this.reaping.delete(c.CheckID);
      return;
    }
    if (tracked) return;
    const cancel = this.deps.clock.setTimeout(() => {
      this.reaping.delete(c.CheckID);
      this.logger.info({ check: c.CheckID, service: c.ServiceID }, 'deregistering a service critical for longer than DeregisterCriticalServiceAfter');
      this.catalog.deregisterService(c.ServiceID).catch((err: unknown) => this.logger.debug({ err: errorMessage(err) }, 'already deregistered'));
    }, Math.max(MIN_DEREGISTER_AFTER_MS, parseDuration('DeregisterCriticalServiceAfter', after)));
    this.reaping.set(c.CheckID, cancel);
  }

  private scheduleTtl(c: HealthCheck, ttl: string, key: string): void {
    const entry: Scheduled = { key, cancel: () => undefined };
    this.scheduled.set(c.CheckID, entry);
    if (c.Status === 'critical') return;
    const ms = parseDuration('TTL', ttl);
    entry.restart = () => {
      entry.cancel();
      entry.cancel = this.deps.clock.setTimeout(() => {
        const output = `TTL expired${c.Output ? ` (last output: ${c.Output})` : ''}`;
        this.write(c.CheckID, { status: 'critical', output });
      }, ms);
    };
    entry.restart();
  }

  private scheduleProbe(id: string, def: HealthCheckDefinition, key: string): void {
    const entry: Scheduled = { key, cancel: () => undefined };
    let stopped = false;
    entry.cancel = () => {
      stopped = true;
    };
    this.scheduled.set(id, entry);
    const interval = Math.max(MIN_INTERVAL_MS, parseDuration('Interval', def.Interval ?? '10s'));
    // As in Consul, a Timeout of 0 means the default, not "fail at once".
    const timeout = (def.Timeout ? parseDuration('Timeout', def.Timeout) : 0) || DEFAULT_TIMEOUT_MS;
    const tick = async () => {
      if (stopped) return;
      // A probe that throws must not become an unhandled rejection (which ends the agent).
      let result: ProbeResult;
      try {
        result = await this.probe(def, timeout);
      } catch (err) {
        result = { status: 'critical', output: errorMessage(err) };
      }
      if (stopped) return;
      this.write(id, result);
      const cancelTimer = this.deps.clock.setTimeout(() => void tick(), interval);
      entry.cancel = () => {
        stopped = true;
        cancelTimer();
      };
    };
    void tick();
  }

  private probe(def: HealthCheckDefinition, timeoutMs: number): Promise<ProbeResult> {
    const { probes } = this.deps;
    if (def.HTTP) return probes.http(def, timeoutMs);
    if (def.TCP) return probes.tcp(def.TCP, timeoutMs);
    return probes.grpc(def.GRPC as string, def.GRPCUseTLS ?? false, timeoutMs);
  }

  private write(id: string, r: ProbeResult): void {
    this.catalog.updateCheck(id, r.status, r.output).catch((err: unknown) => {
      this.logger.debug({ check: id, err: errorMessage(err) }, 'check status not written (check removed?)');
    });
  }

  /** Checks currently scheduled (for tests). */
  get size(): number {
    return this.scheduled.size;
  }
}
