// GET /v1/agent/metrics: Consul's JSON shape (Timestamp, Gauges, Points, Counters, Samples), or
// with ?format=prometheus the Prometheus text format.
import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { need } from './acl-guard.js';
import type { Route } from './route.js';

/** `node`: the agent's node; reading its metrics needs agent:read on it (Consul's rule). */
export function metricsRoutes(metrics: Metrics, clock: Clock, node: string): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/agent/metrics',
      acl: need('agent', 'read', () => node),
      handler: (req) => {
        const format = req.query.get('format');
        if (format === 'prometheus') return { text: metrics.prometheus(), headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } };
        if (format !== null && format !== '') throw ValidationError.of('format', `must be prometheus (or absent for JSON), got "${format}"`);
        return { body: metrics.json(clock.now()) };
      },
    },
  ];
}
