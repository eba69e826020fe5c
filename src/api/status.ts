// /v1/status: a single agent is its own leader.
import type { Route } from './route.js';

export function statusRoutes(leaderAddress: () => string): Route[] {
  return [
    { method: 'GET', pattern: '/v1/status/leader', handler: () => ({ body: leaderAddress() }) },
    { method: 'GET', pattern: '/v1/status/peers', handler: () => ({ body: [leaderAddress()] }) },
  ];
}
