// The CA's HTTP API in Consul's shapes: roots (server and agent, blocking), the agent's leaf
// for a service (blocking, issued on demand), authorize by intentions, and the CA configuration.
import { map, type Observable } from 'rxjs';
import { z } from 'zod';
import type { CAConfigurationView, SignedIntermediateView } from '../ca/ca-service.js';
import { shownSettings } from '../ca/config.js';
import { SIGN_INTERMEDIATE_PATH } from '../ca/primary-http.js';
import type { LeafWaitOptions } from '../ca/leaf-manager.js';
import type { CARoots, LeafCert } from '../ca/types.js';
import { serviceName } from '../catalog/config/common.js';
import type { IntentionDecision } from '../catalog/types.js';
import { systemClock, type Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { parseSpiffeServiceUri } from '../core/names.js';
import { parseInput } from '../core/validate.js';
import { blockingRead, indexed } from './blocking.js';
import { aclOf, inHandler, need, open } from './acl-guard.js';
import type { ApiRequest, Route } from './route.js';

export interface CARoutesDeps {
  readonly ca: {
    readonly trustDomain: string;
    roots(): CARoots;
    /** What GET /v1/connect/ca/roots serves (also a secondary's empty set before it hears from the primary). */
    watchPublishedRoots(): Observable<CARoots>;
    /** Primary only: signs a secondary datacenter's intermediate CSR (PEM). */
    signIntermediate(csrPem: unknown): Promise<SignedIntermediateView>;
    configuration(): CAConfigurationView;
    setConfiguration(input: unknown): Promise<CAConfigurationView>;
  };
  readonly leaves: {
    getLeaf(service: string, opts?: LeafWaitOptions): Promise<LeafCert>;
    watchLeaf(service: string): Observable<LeafCert>;
  };
  /** The catalog's intention decision for source -> destination (precedence and default policy). */
  readonly checkIntention: (source: string, destination: string) => IntentionDecision | Promise<IntentionDecision>;
  readonly clock?: Clock;
}

/**
 * How long GET /v1/agent/connect/ca/leaf/:service waits for a leaf that is not issued yet. Over
 * the CSR rate limit the request waits for its turn in the CA's queue, like every sidecar's leaf;
 * a request that would wait longer is answered 429 at once (Consul's answer when rate limited,
 * with Retry-After) and queues nothing, so HTTP clients, whose own timeouts are usually longer,
 * never hold a connection for nothing.
 */
export const LEAF_REQUEST_MAX_WAIT_MS = 10_000;

const signIntermediateSchema = z.strictObject({ CSR: z.string({ error: 'must be the intermediate CSR as PEM text' }) });

const authorizeSchema = z.object({
  Target: z.string().min(1, 'Target service must be specified'),
  ClientCertURI: z.string().min(1, 'must be the URI SAN of the client certificate'),
  ClientCertSerial: z.string().optional(),
});

/** Consul's ConnectAuthorize: service:write on the Target (the service whose proxy asks). */
const inHandlerTarget = inHandler('service:write on the Target');

export function caRoutes(deps: CARoutesDeps): Route[] {
  const clock = deps.clock ?? systemClock;
  const roots$ = () => deps.ca.watchPublishedRoots().pipe(map((r) => ({ index: r.Index, value: r })));

  const roots = async (req: ApiRequest) => {
    const result = await blockingRead(req, roots$(), clock);
    if (req.query.get('pem') === 'true') {
      return {
        text: result.value.Roots.map((r) => r.RootCert).join(''),
        headers: { 'Content-Type': 'application/pem-certificate-chain', 'X-Consul-Index': String(Math.max(1, result.index)) },
      };
    }
    return indexed(result);
  };

  return [
    // ACLs as Consul's: the roots are public, a leaf needs service:write on its service (what a
    // sidecar's token has), authorize service:write on the target, the configuration operator.
    { method: 'GET', pattern: '/v1/connect/ca/roots', acl: open('the CA roots are public (Consul checks no token)'), handler: roots },
    { method: 'GET', pattern: '/v1/agent/connect/ca/roots', acl: open('the CA roots are public (Consul checks no token)'), handler: roots },
    {
      method: 'GET',
      pattern: '/v1/agent/connect/ca/leaf/:service',
      acl: need('service', 'write', (req) => req.params.service ?? ''),
      handler: async (req) => {
        const service = req.params.service ?? '';
        // The rule registration applies: a leaf only for a name a service can have.
        const name = serviceName.safeParse(service);
        if (!name.success) throw ValidationError.of('service', `"${service}" is not a valid service name: ${name.error.issues[0]?.message ?? ''}`);
        // Issue (or find) first, so a refused CSR answers its error (429 when its turn is too far off).
        try {
          await deps.leaves.getLeaf(service, { signal: req.signal, maxWaitMs: LEAF_REQUEST_MAX_WAIT_MS });
        } catch (err) {
          // The client went away, or the agent is shutting down: the CSR left the queue.
          if (req.signal.aborted && err === req.signal.reason) return { status: 503, text: 'the request ended while its certificate signing request waited for its turn\n' };
          throw err;
        }
        const leaf$ = deps.leaves.watchLeaf(service).pipe(map((l) => ({ index: l.ModifyIndex, value: l })));
        return indexed(await blockingRead(req, leaf$, clock));
      },
    },
    {
      method: 'POST',
      pattern: '/v1/agent/connect/authorize',
      acl: inHandlerTarget,
      handler: async (req) => {
        const body = parseInput(authorizeSchema, req.body ?? {});
        aclOf(req).require('service', 'write', body.Target);
        const id = parseSpiffeServiceUri(body.ClientCertURI);
        if (!id) throw ValidationError.of('ClientCertURI', 'not a valid service identity (spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<svc>)');
        if (id.trustDomain.toLowerCase() !== deps.ca.trustDomain.toLowerCase()) {
          return { body: { Authorized: false, Reason: `Identity from an external trust domain "${id.trustDomain}"` } };
        }
        const decision = await deps.checkIntention(id.service, body.Target);
        return { body: { Authorized: decision.Allowed, Reason: decision.Reason } };
      },
    },
    {
      // Internal: a secondary datacenter's CA asks the primary to sign its intermediate.
      method: 'POST',
      pattern: SIGN_INTERMEDIATE_PATH,
      // Consul's ConnectCA.SignIntermediate: operator:write (a secondary's agent token, acl.tokens.agent).
      acl: need('operator', 'write'),
      handler: async (req) => {
        if (req.body === undefined) throw ValidationError.of('CSR', 'is required: send {"CSR": "<intermediate CSR as PEM>"}');
        const body = parseInput(signIntermediateSchema, req.body ?? {});
        return { body: await deps.ca.signIntermediate(body.CSR) };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/connect/ca/configuration',
      acl: need('operator', 'read'),
      handler: () => {
        const cfg = deps.ca.configuration();
        return { body: { ...cfg, Config: shownSettings(cfg.Config) }, headers: { 'X-Consul-Index': String(cfg.ModifyIndex) } };
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/connect/ca/configuration',
      acl: need('operator', 'write'),
      handler: async (req) => {
        // The configuration replaces the whole of the current one: an empty body would reset it
        // to the defaults (a new root, when the key type differs). Consul refuses it too.
        if (req.body === undefined) throw ValidationError.of('body', 'is empty; send the CA configuration as JSON ({"Provider": "consul", "Config": {...}})');
        await deps.ca.setConfiguration(req.body);
        return { body: true };
      },
    },
  ];
}
