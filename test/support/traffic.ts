// Real traffic helpers for end-to-end tests: an echo app, a line round-trip through a port, and
// a sidecar Envoy running a proxy's generated resources without a control plane.
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { toJson } from '../../src/core/proto.js';
import type { ResourceSet } from '../../src/core/resources.js';
import { Bootstrap } from '../../src/gen/envoy/config/bootstrap/v3/bootstrap.js';
import type { ConnectProxySnapshot } from '../../src/proxycfg/snapshot.js';
import { generateBootstrap } from '../../src/xds/bootstrap.js';
import { EnvoyProcess } from './envoy.js';
import { staticEnvoyConfig } from './static-envoy-config.js';

/** A TCP app answering each chunk with `echo <chunk>`. */
export async function startEcho(): Promise<{ server: Server; port: number }> {
  const server = createServer((c) => c.on('data', (d: Buffer) => c.write(`echo ${d.toString()}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

/** Sends a line through a port; resolves with what came back before the connection closed. */
export async function roundTrip(port: number, message: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => {
    received += d.toString();
    if (received.includes('\n')) socket.end();
  });
  // A refused connection is closed or reset by the proxy: either way, what came back is the answer.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.write(`${message}\n`));
  await closed;
  return received;
}

/** An Envoy running `resources` (the proxy's bootstrap with the resources as static config). */
export async function startSidecarEnvoy(snap: ConnectProxySnapshot, resources: ResourceSet): Promise<EnvoyProcess> {
  const bootstrap = toJson(
    Bootstrap,
    generateBootstrap({ proxyId: snap.proxyId, service: snap.service, datacenter: snap.datacenter, xdsAddress: '127.0.0.1', xdsPort: 8502 }),
  ) as Record<string, unknown>;
  return EnvoyProcess.start(staticEnvoyConfig(bootstrap, resources, { running: true }), { logLevel: 'warn' });
}
