// Starts an ADS server over a FakeSource for a protocol test, and closes everything after it.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { nullLogger, type Logger } from '../../src/core/logger.js';
import type { EncodedResource } from '../../src/core/resources.js';
import type { DeltaDiscoveryResponse, DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery.js';
import { startXdsServer, type XdsServer, type XdsServerOptions } from '../../src/server/server.js';
import { DeltaClient, node, SotwClient } from '../support/ads-client.js';
import { FakeSource } from './fixtures.js';

export interface Harness {
  readonly source: FakeSource;
  readonly server: XdsServer;
  delta(proxyId?: string | null, token?: string): DeltaClient;
  sotw(proxyId: string, userAgentName?: string, token?: string): SotwClient;
}

export async function startHarness(logger: Logger = nullLogger, options: Partial<XdsServerOptions> = {}): Promise<Harness> {
  const source = new FakeSource();
  const server = await startXdsServer({ ...options, source, logger });
  const clients: Array<{ close(): void }> = [];
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });
  return {
    source,
    server,
    delta(proxyId = 'web-sidecar', token?: string) {
      const c = DeltaClient.open(server.port, proxyId === null ? undefined : node(proxyId), token);
      clients.push(c);
      return c;
    },
    sotw(proxyId, userAgentName = 'gRPC Node', token?: string) {
      const c = SotwClient.open(server.port, node(proxyId, userAgentName), token);
      clients.push(c);
      return c;
    },
  };
}

/** Asserts a delta response upserts exactly `expected` (names, versions, bytes) and removes `removed`. */
export function assertDelta(resp: DeltaDiscoveryResponse, typeUrl: string, expected: EncodedResource[], removed: string[] = []): void {
  assert.equal(resp.typeUrl, typeUrl);
  assert.deepEqual(
    resp.resources.map((r) => ({ name: r.name, version: r.version, typeUrl: r.resource?.typeUrl, value: Buffer.from(r.resource?.value ?? []).toString('hex') })),
    expected.map((r) => ({ name: r.name, version: r.version, typeUrl: r.typeUrl, value: Buffer.from(r.value).toString('hex') })),
  );
  assert.deepEqual(resp.removedResources, removed);
}

/** Asserts a SotW response carries exactly `expected`. */
export function assertSotw(resp: DiscoveryResponse, typeUrl: string, expected: EncodedResource[]): void {
  assert.equal(resp.typeUrl, typeUrl);
  assert.deepEqual(
    resp.resources.map((a) => ({ typeUrl: a.typeUrl, value: Buffer.from(a.value).toString('hex') })),
    expected.map((r) => ({ typeUrl: r.typeUrl, value: Buffer.from(r.value).toString('hex') })),
  );
  assert.notEqual(resp.versionInfo, '');
  assert.notEqual(resp.nonce, '');
}
