// How the ADS server carries out a source's ACL decision (server/source.ts Denied), with the
// scripted clients: the stream's x-consul-token reaches the source, a denial before anything was
// sent ends the stream with nothing sent, and a denial later ends a running stream, for delta
// and state-of-the-world alike, with the status and message the source gave.
import assert from 'node:assert/strict';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, it } from 'node:test';
import { TypeUrl } from '../../src/core/type-urls.js';
import type { Node } from '../../src/gen/envoy/config/core/v3/base.js';
import { Denied } from '../../src/server/source.js';
import { DeltaClient, node, SotwClient } from '../support/ads-client.js';
import { recordingLogger } from '../support/recording-logger.js';
import { cluster, resourceSet } from './fixtures.js';
import { startHarness } from './harness.js';

const denied = new Denied('permission-denied', `Permission denied: token with AccessorID 'a' lacks permission 'service:write' on "web"`);

describe('streams denied by their source', () => {
  it("hands the stream's x-consul-token to the source; none when absent", async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(cluster('api')));
    const withToken = h.delta('web-sidecar', 'secret-1');
    withToken.subscribe(TypeUrl.Cluster);
    await withToken.expect('clusters');
    const without = h.delta('web-sidecar');
    without.subscribe(TypeUrl.Cluster);
    await without.expect('clusters');
    assert.deepEqual(h.source.credentials, [{ token: 'secret-1' }, { token: undefined }]);
  });

  it("takes a token from authorization: Bearer, and a gRPC client's from its node metadata (an Envoy's is not read there)", async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(cluster('api')));
    h.source.set('grpc-app', resourceSet(cluster('api')));
    const md = new Metadata();
    md.set('authorization', 'Bearer secret-2');
    const bearer = DeltaClient.open(h.server.port, node('web-sidecar'), md);
    const grpcApp = SotwClient.open(h.server.port, { ...node('grpc-app', 'gRPC Node'), metadata: { 'x-consul-token': 'secret-3' } } as Node);
    const envoy = DeltaClient.open(h.server.port, { ...node('web-sidecar'), metadata: { 'x-consul-token': 'secret-4' } } as Node);
    try {
      bearer.subscribe(TypeUrl.Cluster);
      await bearer.expect('clusters');
      grpcApp.send({ typeUrl: TypeUrl.Cluster, resourceNames: ['api'] });
      await grpcApp.expect('clusters');
      envoy.subscribe(TypeUrl.Cluster);
      await envoy.expect('clusters');
      assert.deepEqual(h.source.credentials, [{ token: 'secret-2' }, { token: 'secret-3' }, { token: undefined }]);
    } finally {
      for (const c of [bearer, grpcApp, envoy]) c.close();
    }
  });

  it('ends a delta stream denied before anything is sent, sending nothing, and logs the refusal once', async () => {
    const logger = recordingLogger();
    const h = await startHarness(logger);
    h.source.set('web-sidecar', new Denied('unauthenticated', 'unauthenticated: ACL not found'));
    for (let i = 0; i < 2; i++) {
      const c = h.delta('web-sidecar', 'gone');
      c.subscribe(TypeUrl.Cluster);
      const end = await c.expectEnd();
      assert.deepEqual(end, { code: status.UNAUTHENTICATED, details: 'unauthenticated: ACL not found' });
    }
    assert.equal(logger.entries.filter((e) => e.level === 'warn' && /refusing stream: unauthenticated: ACL not found/.test(e.msg)).length, 1);
  });

  it('ends a running delta stream and a running SotW stream when the source denies them', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(cluster('api')));
    h.source.set('grpc-app', resourceSet(cluster('api')));
    const delta = h.delta('web-sidecar', 't');
    delta.subscribe(TypeUrl.Cluster);
    delta.ack(await delta.expect('clusters'));
    const sotw = h.sotw('grpc-app', 'gRPC Node', 't');
    sotw.send({ typeUrl: TypeUrl.Cluster, resourceNames: ['api'] });
    await sotw.expect('clusters');
    h.source.set('web-sidecar', denied);
    h.source.set('grpc-app', denied);
    assert.deepEqual(await delta.expectEnd(), { code: status.PERMISSION_DENIED, details: denied.message });
    assert.deepEqual(await sotw.expectEnd(), { code: status.PERMISSION_DENIED, details: denied.message });
  });
});
