// What the ADS server counts: pushes and bytes by type, NACKs by type, how long a proxy's change
// takes to reach its stream (push latency) and how long generating its resources takes. Handles
// are made once per type, so the hot path is an increment.
import type { Metrics } from '../core/metrics.js';
import { typeNameOf, XDS_TYPE_URLS, type XdsTypeUrl } from '../core/type-urls.js';

export interface XdsMetricsSink {
  /** A monotonic clock in milliseconds, for the timings below. */
  now(): number;
  pushed(typeUrl: XdsTypeUrl, bytes: number): void;
  nacked(typeUrl: XdsTypeUrl): void;
  /** From a proxy's new desired set to its stream handling it (queueing, generation and writes included). */
  pushLatency(ms: number): void;
  /** Generating one proxy's resources from its snapshot. */
  generated(ms: number): void;
}

export const nullXdsMetrics: XdsMetricsSink = { now: () => 0, pushed: () => undefined, nacked: () => undefined, pushLatency: () => undefined, generated: () => undefined };

export function xdsMetrics(metrics: Metrics, now: () => number): XdsMetricsSink {
  const perType = <T>(make: (type: string) => T) => new Map(XDS_TYPE_URLS.map((url) => [url, make(typeNameOf(url).split('.').pop() as string)] as const));
  const pushes = perType((type) => metrics.counter('switchyard.xds.pushes', { type }));
  const bytes = perType((type) => metrics.counter('switchyard.xds.push_bytes', { type }));
  const nacks = perType((type) => metrics.counter('switchyard.xds.nacks', { type }));
  const latency = metrics.sample('switchyard.xds.push_latency');
  const generate = metrics.sample('switchyard.xds.snapshot_generate');
  return {
    now,
    pushed: (typeUrl, n) => {
      pushes.get(typeUrl)?.inc();
      bytes.get(typeUrl)?.inc(n);
    },
    nacked: (typeUrl) => nacks.get(typeUrl)?.inc(),
    pushLatency: (ms) => latency.observe(ms),
    generated: (ms) => generate.observe(ms),
  };
}
