// /v1/status: a single agent is its own leader.
import { open } from './acl-guard.js';
import type { Route } from './route.js';

/** Consul's status endpoints check no token. */
const PUBLIC = open('Consul\'s /v1/status/* checks no token');

export function statusRoutes(leaderAddress: () => string): Route[] {
  return [
    { method: 'GET', pattern: '/v1/status/leader', acl: PUBLIC, handler: () => ({ body: leaderAddress() }) },
    { method: 'GET', pattern: '/v1/status/peers', acl: PUBLIC, handler: () => ({ body: [leaderAddress()] }) },
  ];
}
