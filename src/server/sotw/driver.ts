// Drives one state-of-the-world stream: applies requests to the SotwSession and sends what
// nextSotwResponse decides.
import { TypeUrl, type XdsTypeUrl } from '../../core/type-urls.js';
import type { DiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery.js';
import { isGrpcClient } from '../clients.js';
import { encodeSotwResponse } from '../encoding.js';
import { clientErrorText, type SessionDriver, type StreamContext } from '../stream-host.js';
import { foreignSecretNotes } from '../secrets-asked.js';
import { nextSotwResponse, SotwSession } from './session.js';

export function sotwDriver(ctx: StreamContext): SessionDriver<DiscoveryRequest> {
  const session = new SotwSession();
  const grpcClient = isGrpcClient(ctx.node);
  const noteSecrets = foreignSecretNotes(ctx);
  /** The Secret names last asked for (state of the world: each request names them all). */
  let secretsAsked: readonly string[] = [];

  const pump = () => {
    const desired = ctx.desired();
    if (!desired) return;
    noteSecrets(TypeUrl.Secret, secretsAsked, desired);
    for (let plan = nextSotwResponse(desired, session); plan; plan = nextSotwResponse(desired, session)) {
      const nonce = ctx.nextNonce();
      session.sent(plan.typeUrl, nonce, plan.versionInfo, plan.resources);
      ctx.logFor(plan.typeUrl).debug({ nonce, version: plan.versionInfo, resources: plan.resources.length }, 'sending');
      ctx.status.sent(plan.typeUrl, nonce, plan.resources.length, plan.versionInfo);
      const bytes = encodeSotwResponse({ typeUrl: plan.typeUrl, versionInfo: plan.versionInfo, nonce, resources: plan.resources });
      ctx.metrics.pushed(plan.typeUrl, bytes.length);
      ctx.write(bytes);
    }
  };

  const request = (req: DiscoveryRequest, typeUrl: XdsTypeUrl) => {
    if (typeUrl === TypeUrl.Secret) secretsAsked = req.resourceNames;
    const answer = session.request(typeUrl, {
      names: req.resourceNames,
      nonce: req.responseNonce,
      versionInfo: req.versionInfo,
      error: req.errorDetail !== undefined,
      grpcClient,
    });
    if (answer === 'stale') {
      ctx.logFor(typeUrl).debug({ nonce: req.responseNonce }, 'stale nonce ignored');
      return;
    }
    if (answer === 'nack') {
      const error = clientErrorText(req.errorDetail?.message);
      ctx.logFor(typeUrl).warn({ nonce: req.responseNonce, error }, 'client rejected a response (NACK); keeping its last good state');
      ctx.status.nacked(typeUrl, req.responseNonce, error);
      ctx.metrics.nacked(typeUrl);
    } else if (answer === 'ack') {
      ctx.status.acked(typeUrl, req.responseNonce, 1, req.versionInfo);
    }
    pump();
  };

  return { request, desiredChanged: pump };
}
