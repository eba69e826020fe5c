// PUT /v1/config?dry-run (Switchyard's own parameter): instead of writing the entry, answer what
// the write would change — the proxies whose resources would differ and how — storing nothing.
// The wrapped route is the config write itself; a write without the parameter is untouched.
import { ValidationError } from '../core/errors.js';
import { aclOf } from './acl-guard.js';
import { requireEntryWrite } from './config.js';
import { casParam } from './params.js';
import type { Route } from './route.js';

export type ConfigDryRun = (body: unknown, cas: number | undefined) => Promise<unknown>;

/** `?dry-run`, `?dry-run=true`: a dry run; `?dry-run=false` or absent: the write. */
function isDryRun(query: URLSearchParams): boolean {
  const v = query.get('dry-run');
  if (v === null || v === 'false') return false;
  if (v === '' || v === 'true') return true;
  throw ValidationError.of('dry-run', `must be true or false, got "${v}"`);
}

/** The Kind and Name a body names (any case, as the decoder takes them); the dry run validates the rest. */
function entryKey(body: unknown): { Kind: string; Name: string } {
  const o = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const field = (name: string) => {
    const key = Object.keys(o).find((k) => k.toLowerCase() === name);
    const v = key === undefined ? undefined : o[key];
    return typeof v === 'string' ? v : '';
  };
  return { Kind: field('kind'), Name: field('name') };
}

export function withConfigDryRun(routes: readonly Route[], dryRun: ConfigDryRun): Route[] {
  return routes.map((route) => {
    if (route.method !== 'PUT' || route.pattern !== '/v1/config') return route;
    const write = route.handler;
    // A dry run needs what the write would (it shows what the write would change).
    const dry = async (req: Parameters<typeof write>[0]) => {
      requireEntryWrite(aclOf(req), entryKey(req.body));
      return { body: await dryRun(req.body, casParam(req)) };
    };
    return { ...route, handler: async (req) => (isDryRun(req.query) ? dry(req) : write(req)) };
  });
}
