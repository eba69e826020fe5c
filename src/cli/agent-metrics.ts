// The agent's metrics (GET /v1/agent/metrics), composed where every part is at hand: the ADS
// server's counters (server/metrics.ts), streams by kind and proxies waiting read from the xDS
// status when scraped, leaves signed and CSR rate-limit waits counted around the CA's signing
// (a decorator of the leaf manager's issuer, so the CA itself is untouched), certificate expiry
// read from the roots and the leaves signed, and the store's commit latency.
import type { LeafIssuer } from '../ca/leaf-manager.js';
import type { Clock } from '../core/clock.js';
import { Metrics } from '../core/metrics.js';
import { xdsMetrics, type XdsMetricsSink } from '../server/metrics.js';
import type { XdsStatusRegistry } from '../server/status.js';
import type { CARoots } from '../ca/types.js';

export interface AgentMetrics {
  readonly metrics: Metrics;
  readonly xds: XdsMetricsSink;
  /** The issuer the leaf manager signs through, counted. */
  meteredIssuer(ca: LeafIssuer): LeafIssuer;
  /** The store's group-commit observer. */
  readonly storeCommit: (ms: number) => void;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

/**
 * `hostname`: the machine's, for Consul's runtime gauges (`consul.<hostname>.runtime.*`, go-metrics'
 * names with Consul's default prefix and hostname), which Consul's clients and dashboards look for.
 */
export function agentMetrics(deps: { readonly clock: Clock; readonly status: XdsStatusRegistry; readonly roots: () => CARoots; readonly hostname?: string }): AgentMetrics {
  const now = () => performance.now();
  const metrics = new Metrics(deps.clock.now());
  metrics.gauge('switchyard.xds.streams', () => {
    const counts = { delta: 0, sotw: 0 };
    for (const p of deps.status.list()) for (const s of p.Streams) counts[s.Kind]++;
    return Object.entries(counts).map(([kind, value]) => ({ labels: { kind }, value }));
  });
  if (deps.hostname !== undefined) {
    // Go's heap bytes in use and bytes got from the system: the V8 heap in use and the resident set.
    metrics.gauge(`consul.${deps.hostname}.runtime.alloc_bytes`, () => process.memoryUsage().heapUsed);
    metrics.gauge(`consul.${deps.hostname}.runtime.sys_bytes`, () => process.memoryUsage.rss());
  }
  metrics.gauge('switchyard.xds.proxies_waiting', () => deps.status.list().filter((p) => p.Waiting !== null).length);
  metrics.gauge('switchyard.ca.root_expiry_seconds', () => {
    const active = deps.roots().Roots.find((r) => r.Active);
    return active ? Math.round((Date.parse(active.NotAfter) - deps.clock.now()) / 1000) : 0;
  });
  /** The latest leaf signed per service: its expiry. */
  const leafExpiry = new Map<string, number>();
  metrics.gauge('switchyard.ca.leaf_expiry_seconds', () => (leafExpiry.size === 0 ? [] : [{ labels: {}, value: Math.round((Math.min(...leafExpiry.values()) - deps.clock.now()) / 1000) }]));
  const signed = metrics.counter('switchyard.ca.leaves_signed');
  const waits = metrics.counter('switchyard.ca.csr_rate_limit_waits');
  const csrWait = metrics.sample('switchyard.ca.csr_wait');
  const commit = metrics.sample('switchyard.store.commit');
  return {
    metrics,
    xds: xdsMetrics(metrics, now),
    now,
    storeCommit: (ms) => commit.observe(ms),
    meteredIssuer(ca: LeafIssuer): LeafIssuer {
      return {
        get trustDomain() {
          return ca.trustDomain;
        },
        get datacenter() {
          return ca.datacenter;
        },
        watchRoots: () => ca.watchRoots(),
        leafKeySpec: () => ca.leafKeySpec(),
        ...(ca.csrRate && { csrRate: () => ca.csrRate?.() ?? 0 }),
        ...(ca.csrQueue && { csrQueue: () => ca.csrQueue?.() ?? { waiting: 0, expectedWaitMs: 0 } }),
        ...(ca.signingProblem && { signingProblem: () => ca.signingProblem?.() }),
        async signLeaf(csr, req, opts) {
          const queued = ca.csrQueue?.();
          // A CSR joining a queue (others ahead of it, or the rate's next turn not yet due) waits for its turn.
          if (queued && (queued.waiting > 0 || queued.expectedWaitMs === undefined || queued.expectedWaitMs > 0)) waits.inc();
          const asked = now();
          const timed = typeof csr === 'function' ? async () => (csrWait.observe(now() - asked), csr()) : csr;
          const leaf = await ca.signLeaf(timed, req, opts);
          signed.inc();
          if (req.service) leafExpiry.set(req.service, leaf.notAfter);
          return leaf;
        },
      };
    },
  };
}
