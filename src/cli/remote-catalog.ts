// What this agent asks of another datacenter for proxycfg: a service's sidecars there (an
// upstream in that datacenter with mesh gateway mode "none" dials them directly). Followed with
// blocking queries on this agent's own HTTP API with `?dc=`, which the agent forwards over the
// WAN link, so one code path serves a primary asking a secondary and the other way round. A
// failed or malformed answer keeps the last good list and is retried with capped backoff.
import { Observable } from 'rxjs';
import { z } from 'zod';
import type { RemoteCatalog } from '../catalog/catalog.js';
import type { CheckServiceNode } from '../catalog/types.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

const entrySchema = z.looseObject({
  Node: z.looseObject({ Node: z.string(), Address: z.string(), Datacenter: z.string().optional() }),
  Service: z.looseObject({ ID: z.string(), Service: z.string(), Address: z.string().optional(), Port: z.number().int().min(0).max(65535) }),
  Checks: z.array(z.looseObject({ Status: z.enum(['passing', 'warning', 'critical']) })),
});

const NONE: readonly CheckServiceNode[] = Object.freeze([]);
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;
const WAIT = '60s';

export interface RemoteCatalogOptions {
  /** This agent's own HTTP base URL, e.g. `http://127.0.0.1:8500` (known once its server listens). */
  readonly baseUrl: () => string;
  readonly logger: Logger;
  /** The agent's token (`acl.tokens.agent`): the remote datacenter filters what it answers by it. */
  readonly token?: string;
}

/** The fields proxycfg reads of an entry (node name and address, service address and port, check states). */
function toNode(e: z.infer<typeof entrySchema>): CheckServiceNode {
  return e as unknown as CheckServiceNode;
}

export function httpRemoteCatalog(opts: RemoteCatalogOptions): RemoteCatalog {
  return {
    watchConnectHealth: (datacenter, service) =>
      new Observable<readonly CheckServiceNode[]>((subscriber) => {
        const abort = new AbortController();
        const log = opts.logger.child({ component: 'remote-catalog', datacenter, service });
        let index = 0;
        let backoff = BACKOFF_MIN_MS;
        let first = true;
        // None until the other datacenter answers: the proxy's other upstreams need not wait for it.
        subscriber.next(NONE);
        void (async () => {
          while (!abort.signal.aborted) {
            try {
              const url = `${opts.baseUrl()}/v1/health/connect/${encodeURIComponent(service)}?dc=${encodeURIComponent(datacenter)}&index=${index}&wait=${WAIT}`;
              const res = await fetch(url, { signal: abort.signal, headers: opts.token ? { 'X-Consul-Token': opts.token } : {} });
              const text = await res.text();
              if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
              const next = Number(res.headers.get('x-consul-index') ?? '0');
              const parsed = z.array(entrySchema).safeParse(JSON.parse(text));
              if (!parsed.success) throw new Error(`malformed answer: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
              if (first || next !== index) subscriber.next(Object.freeze(parsed.data.map(toNode)));
              first = false;
              // An index that goes backwards (the other agent restarted) starts over, as Consul's clients do.
              index = next > index ? next : 0;
              backoff = BACKOFF_MIN_MS;
            } catch (err) {
              if (abort.signal.aborted) return;
              log.warn({ err: errorMessage(err) }, 'cannot follow the sidecars in another datacenter; keeping the last answer');
              await new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random() / 2)));
              backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
            }
          }
        })();
        return () => abort.abort();
      }),
  };
}
