// Requests another datacenter answers. In a secondary, writes of config entries and intentions
// go to the primary (which holds them, as Consul forwards them) and are answered with its answer,
// once replication has brought the write here (bounded: see WRITE_VISIBLE_MS); catalog and
// health reads with `?dc=<other>` are answered by that datacenter: a secondary asks the primary,
// the primary asks the secondary at the address it told. The rules are a table of routes.
// A forwarded request carries its caller's token (the request's, else acl.tokens.default; none
// at all when it had none), never the agent's, as Consul's forwarded RPCs carry theirs: the other
// datacenter decides with its own ACLs what the caller may do.
import { aclOf, FILTERED_HEADER } from '../acl-guard.js';
import { errorMessage } from '../../core/errors.js';
import { parseBlocking } from '../blocking.js';
import type { ApiRequest, ApiResponse, Route } from '../route.js';
import type { Federation } from './federation.js';
import { httpCall, PrimaryUnreachableError, type LinkReply } from './wan-link.js';

/** Writes the primary holds: in a secondary they are forwarded. */
export const PRIMARY_WRITES: ReadonlySet<string> = new Set([
  'PUT /v1/config',
  'DELETE /v1/config/:kind/:name',
  'PUT /v1/connect/intentions/exact',
  'DELETE /v1/connect/intentions/exact',
  'POST /v1/connect/intentions',
  'PUT /v1/connect/intentions/:id',
  'DELETE /v1/connect/intentions/:id',
]);
/** Reads that take `?dc=`. */
export const DATACENTER_READS: ReadonlySet<string> = new Set([
  'GET /v1/catalog/services',
  'GET /v1/catalog/service/:name',
  'GET /v1/catalog/nodes',
  'GET /v1/catalog/node/:node',
  'GET /v1/health/service/:name',
  'GET /v1/health/node/:node',
  'GET /v1/health/state/:state',
  'GET /v1/health/connect/:name',
  'GET /v1/health/checks/:service',
  'GET /v1/health/ingress/:name',
  'GET /v1/catalog/gateway-services/:gateway',
  'GET /v1/catalog/connect/:name',
  'GET /v1/status/leader',
  'GET /v1/status/peers',
]);
/** How long a forwarded write waits for replication to bring it here before it is answered anyway. */
export const WRITE_VISIBLE_MS = 3000;
/** Consul's structs.ErrNoDCPath. */
export const NO_DC_PATH = 'No path to datacenter';

/** The routes with the federation's rules applied (unchanged on a lone primary's other routes). */
export function federate(lists: readonly (readonly Route[])[], federation: Federation): Route[][] {
  return lists.map((routes) =>
    routes.map((route) => {
      const key = `${route.method} ${route.pattern}`;
      if (PRIMARY_WRITES.has(key) && !federation.isPrimary) return { ...route, handler: (req) => forwardWrite(route, req, federation) };
      if (DATACENTER_READS.has(key)) return { ...route, handler: (req) => readIn(route, req, federation) };
      return route;
    }),
  );
}

async function forwardWrite(route: Route, req: ApiRequest, federation: Federation): Promise<ApiResponse> {
  const link = federation.link;
  if (!link) throw new Error('a secondary without a link to the primary');
  let reply: LinkReply;
  try {
    reply = await link.request(req.method, pathOf(route, req), req.body, { signal: req.signal, headers: callerToken(req) });
  } catch (err) {
    if (!(err instanceof PrimaryUnreachableError)) throw err;
    return {
      status: 503,
      text: `${errorMessage(err)}: config entries and intentions are written in the primary datacenter and this is the secondary "${federation.datacenter}", so nothing was written; reads here serve the last replicated copy; retry when the link is back\n`,
    };
  }
  // The primary answers with the index of its config entries after the write: wait until it is here.
  if (reply.status === 200 && reply.index > 0) await link.waitReplicated(reply.index, WRITE_VISIBLE_MS);
  return passThrough(reply);
}

async function readIn(route: Route, req: ApiRequest, federation: Federation): Promise<ApiResponse> {
  const dc = req.query.get('dc');
  if (!dc || dc === federation.datacenter) return route.handler(req);
  const { index, waitMs } = parseBlocking(req.query);
  const opts = { signal: req.signal, timeoutMs: index !== undefined ? waitMs + 10_000 : 10_000, headers: callerToken(req) };
  const to = federation.routeTo(dc);
  // Consul answers 500 with this text; the text is what its clients and tools match, and an
  // unknown datacenter is the caller's mistake, not a server failure, so it is a 400 here.
  if (!to) return { status: 400, text: `${NO_DC_PATH} "${dc}" (dc: known are ${federation.datacenters().join(', ')})\n` };
  try {
    return passThrough(to.via === 'primary' ? await to.link.request('GET', pathOf(route, req), undefined, opts) : await httpCall(to.address, 'GET', pathOf(route, req), undefined, opts));
  } catch (err) {
    if (req.signal.aborted) throw err;
    const where = to.via === 'primary' ? `through the primary datacenter "${federation.primaryDatacenter}"` : `at ${to.address}`;
    return { status: 503, text: `cannot reach datacenter "${dc}" ${where}: ${errorMessage(err)}\n` };
  }
}

/** The caller's token as the other agent is given it (empty when it had none, so the link's own token is not sent in its place). */
function callerToken(req: ApiRequest): Record<string, string> {
  return { 'X-Consul-Token': aclOf(req).secret ?? '' };
}

/** The request's path and query as the other agent is asked them. */
function pathOf(route: Route, req: ApiRequest): string {
  const path = route.pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(req.params[name] ?? ''));
  const query = req.query.toString();
  return query ? `${path}?${query}` : path;
}

function passThrough(reply: LinkReply): ApiResponse {
  const headers: Record<string, string> = { 'content-type': reply.headers.get('content-type') ?? 'text/plain; charset=utf-8' };
  for (const h of ['X-Consul-Index', 'Retry-After', FILTERED_HEADER]) {
    const v = reply.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  return { status: reply.status, text: reply.text, headers };
}
