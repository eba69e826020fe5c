// The TypeScript SDK for CA provider plugins: `serve(provider)` makes any CAProvider a go-plugin
// plugin that Switchyard's host (or any host of Consul's CA plugin protocol) runs. It checks the
// magic cookie and the protocol versions, serves plugin.CA, grpc.health.v1 ("plugin"),
// plugin.GRPCController (Shutdown) and plugin.GRPCStdio on a unix socket, with AutoMTLS when the
// host asks for it, and prints the handshake line. `pluginLogger` writes hclog JSON lines on
// stderr, which the host mirrors into its log at their levels.
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthCheckResponse_ServingStatus, HealthService } from '../../gen/grpc/health/v1/health.js';
import { CAService, type Certificate } from '../../gen/plugin/ca.js';
import { GRPCControllerService } from '../../gen/plugin/grpc_controller.js';
import { GRPCStdioService } from '../../gen/plugin/grpc_stdio.js';
import { ValidationError } from '../../core/errors.js';
import type { LogFn, Logger } from '../../core/logger.js';
import { certPem, fromPem } from '../pem.js';
import type { CAProvider } from '../provider.js';
import { autoMtlsIdentity } from './automtls.js';
import { APP_PROTOCOL_VERSION, formatHandshake, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from './handshake.js';

/** A logger writing hclog's JSON lines to stderr (what go-plugin hosts read). */
export function pluginLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string): LogFn =>
    (a: string | Record<string, unknown>, msg?: string) => {
      const [fields, message] = typeof a === 'string' ? [{}, a] : [a, msg ?? ''];
      process.stderr.write(`${JSON.stringify({ '@level': level, '@message': message, '@module': name, '@timestamp': new Date().toISOString(), ...bindings, ...fields })}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => pluginLogger(name, { ...bindings, ...b }) };
}

function toStatus(err: unknown): Partial<grpc.StatusObject> {
  const details = err instanceof Error ? err.message : String(err);
  return { code: err instanceof ValidationError ? grpc.status.INVALID_ARGUMENT : grpc.status.UNKNOWN, details };
}

type Handler<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;
function unary<Req, Res>(fn: (req: Req) => Promise<Res>): Handler<Req, Res> {
  return (call, cb) => {
    fn(call.request).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toStatus(err)),
    );
  };
}

const certificate = (der: Uint8Array): Certificate => ({ crtDer: der, crtPem: certPem(der) });
const derOf = (der: Uint8Array, pem: string): Uint8Array => (der.length > 0 ? der : (fromPem(pem)[0]?.der ?? new Uint8Array(0)));

/** The plugin.CA service over a provider. */
export function caServiceImpl(p: CAProvider): grpc.UntypedServiceImplementation {
  return {
    configure: unary(async (r: { clusterId: string; isRoot: boolean; datacenter: string; config: Uint8Array; state: Record<string, string> }) => {
      let rawConfig: Record<string, unknown> = {};
      try {
        rawConfig = r.config.length ? (JSON.parse(new TextDecoder().decode(r.config)) as Record<string, unknown>) : {};
      } catch {
        throw ValidationError.of('config', 'is not JSON');
      }
      await p.configure({ clusterId: r.clusterId, isPrimary: r.isRoot, datacenter: r.datacenter, rawConfig, state: Object.keys(r.state).length ? r.state : undefined });
      return {};
    }),
    generateRoot: unary(async () => {
      const chain = await p.generateRoot();
      return { rootDer: chain.root, intermediatesDer: [...chain.intermediates] };
    }),
    activeRoot: unary(async () => certificate((await p.generateRoot()).root)),
    generateIntermediateCsr: unary(async () => {
      const { csr, opaque } = await p.generateIntermediateCsr();
      return { csrDer: csr, csrPem: '', opaque };
    }),
    setIntermediate: unary(async (r: { intermediateDer: Uint8Array; intermediatePem: string; rootDer: Uint8Array; rootPem: string; opaque: string }) => {
      await p.setIntermediate(derOf(r.intermediateDer, r.intermediatePem), derOf(r.rootDer, r.rootPem), r.opaque);
      return {};
    }),
    activeIntermediate: unary(async () => certificate(await p.activeLeafSigningCert())),
    generateIntermediate: unary(async () => certificate(await (p.generateLeafSigningCert ? p.generateLeafSigningCert() : p.activeLeafSigningCert()))),
    sign: unary(async (r: { csr: Uint8Array; ttlMs: number }) => certificate(await p.sign(r.csr, { ttlMs: r.ttlMs > 0 ? r.ttlMs : 72 * 3_600_000 }))),
    signIntermediate: unary(async (r: { csr: Uint8Array }) => certificate(await p.signIntermediate(r.csr))),
    crossSignCa: unary(async (r: { crt: Uint8Array }) => certificate(await p.crossSignCA(r.crt))),
    supportsCrossSigning: unary(async () => ({ supportsCrossSigning: await p.supportsCrossSigning() })),
    cleanup: unary(async (r: { providerTypeChange: boolean; otherConfig: Uint8Array }) => {
      const other = r.otherConfig.length ? (JSON.parse(new TextDecoder().decode(r.otherConfig)) as Record<string, unknown>) : {};
      await p.cleanup(r.providerTypeChange, other);
      return {};
    }),
    state: unary(async () => ({ state: await p.state() })),
  };
}

export interface ServeOptions {
  /** The plugin's name in its log lines. */
  readonly name?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Serves `provider` as a CA plugin and resolves once it is listening (the process then lives
 * until the host asks it to shut down). Run directly, not by a host, it says so and exits 1.
 */
export function serve(provider: CAProvider, opts: ServeOptions = {}): Promise<void> {
  return servePlugin(caServiceImpl(provider), opts);
}

/** Serves a plugin.CA implementation of one's own (the wire messages as ts-proto types them). */
export async function servePlugin(ca: grpc.UntypedServiceImplementation, opts: ServeOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const log = pluginLogger(opts.name ?? 'ca-plugin');
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    process.stderr.write('This binary is a CA provider plugin for Switchyard (or Consul). It is not meant to be run directly:\nset it as plugin_cmd in the CA configuration.\n');
    process.exit(1);
  }
  const versions = (env.PLUGIN_PROTOCOL_VERSIONS ?? '').split(',').map((v) => v.trim());
  if (!versions.includes(String(APP_PROTOCOL_VERSION))) {
    log.error({ offered: env.PLUGIN_PROTOCOL_VERSIONS ?? '' }, `the host speaks none of this plugin's protocol versions (${APP_PROTOCOL_VERSION})`);
    process.exit(1);
  }
  // Ctrl-C reaches the whole process group: the host decides when its plugins stop (as go-plugin's do).
  process.on('SIGINT', () => log.debug({}, 'ignoring SIGINT: the host stops this plugin'));
  const clientCert = env.PLUGIN_CLIENT_CERT;
  const identity = clientCert ? await autoMtlsIdentity() : undefined;
  const creds = identity
    ? grpc.ServerCredentials.createSsl(Buffer.from(clientCert as string), [{ cert_chain: Buffer.from(identity.certPem), private_key: Buffer.from(identity.keyPem) }], true)
    : grpc.ServerCredentials.createInsecure();
  const dir = env.PLUGIN_UNIX_SOCKET_DIR || mkdtempSync(join(tmpdir(), 'plugin-'));
  const socket = join(dir, `plugin${randomBytes(6).toString('hex')}`);
  const server = new grpc.Server();
  const stdioStreams = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  server.addService(CAService, ca);
  server.addService(HealthService, {
    check: unary(async (r: { service: string }) => ({
      status: r.service === '' || r.service === 'plugin' ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN,
    })),
    watch: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  server.addService(GRPCControllerService, {
    shutdown: unary(async () => {
      log.info({}, 'shutdown asked by the host');
      setImmediate(() => {
        for (const s of stdioStreams) s.end();
        server.tryShutdown(() => process.exit(0));
      });
      return {};
    }),
  });
  // What this SDK's plugins log goes to stderr directly; the stream stays open and empty.
  server.addService(GRPCStdioService, {
    streamStdio: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      stdioStreams.add(call);
      call.on('cancelled', () => stdioStreams.delete(call));
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, creds, (err) => (err ? reject(err) : resolve())));
  log.debug({ address: socket, network: 'unix' }, 'plugin address');
  process.stdout.write(`${formatHandshake(socket, identity?.certDer)}\n`);
}
