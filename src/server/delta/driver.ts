// Drives one delta stream: applies requests to the DeltaSession, then sends what
// nextDeltaResponse decides, one response at a time, until it has nothing more to send.
import { TypeUrl, type XdsTypeUrl } from '../../core/type-urls.js';
import type { DeltaDiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery.js';
import { encodeDeltaResponse } from '../encoding.js';
import { clientErrorText, type SessionDriver, type StreamContext } from '../stream-host.js';
import { foreignSecretNotes } from '../secrets-asked.js';
import { nextDeltaResponse } from './diff.js';
import { DeltaSession } from './session.js';

export function deltaDriver(ctx: StreamContext): SessionDriver<DeltaDiscoveryRequest> {
  const session = new DeltaSession();
  const noteSecrets = foreignSecretNotes(ctx);

  const pump = () => {
    const desired = ctx.desired();
    if (!desired) return;
    const secrets = session.peek(TypeUrl.Secret);
    if (secrets) noteSecrets(TypeUrl.Secret, secrets.subscription.explicitNames(), desired);
    for (let plan = nextDeltaResponse(desired, session); plan; plan = nextDeltaResponse(desired, session)) {
      const nonce = ctx.nextNonce();
      session.sent(
        { typeUrl: plan.typeUrl, nonce, upserts: new Map(plan.upserts.map((r) => [r.name, r.version])), removals: plan.removals },
        plan.forcedChildren,
      );
      ctx.logFor(plan.typeUrl).debug({ nonce, upserts: plan.upserts.length, removals: plan.removals.length }, 'sending');
      ctx.status.sent(plan.typeUrl, nonce, plan.upserts.length + plan.removals.length);
      const bytes = encodeDeltaResponse({ typeUrl: plan.typeUrl, nonce, upserts: plan.upserts, removals: plan.removals });
      ctx.metrics.pushed(plan.typeUrl, bytes.length);
      ctx.write(bytes);
    }
  };

  const request = (req: DeltaDiscoveryRequest, typeUrl: XdsTypeUrl) => {
    const nack = req.errorDetail !== undefined;
    const answer = session.answer(typeUrl, req.responseNonce, nack);
    if (answer.kind === 'nack') {
      const error = clientErrorText(req.errorDetail?.message);
      ctx.logFor(typeUrl).warn({ nonce: req.responseNonce, error }, 'client rejected a response (NACK); keeping its last good state');
      ctx.status.nacked(typeUrl, req.responseNonce, error);
      ctx.metrics.nacked(typeUrl);
    } else if (answer.kind === 'ack') {
      ctx.status.acked(typeUrl, req.responseNonce, session.peek(typeUrl)?.acked.size ?? 0);
    } else if (answer.kind === 'stale') {
      ctx.logFor(typeUrl).debug({ nonce: req.responseNonce }, 'stale nonce ignored');
    }
    session.subscribe(typeUrl, req.resourceNamesSubscribe, req.resourceNamesUnsubscribe, req.initialResourceVersions);
    pump();
  };

  return { request, desiredChanged: pump };
}
