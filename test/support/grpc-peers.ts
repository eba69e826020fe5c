// Real proxyless gRPC peers: a grpc-js server answering a raw-bytes Greeter method, a grpc-js
// client with the xDS resolver (@grpc/grpc-js-xds), and a gRPC C-core client (Debian
// python3-grpcio unpacked into .tools/, run with /usr/bin/python3).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { waitFor } from './wait.js';

const REPO = new URL('../../../', import.meta.url).pathname;
export const HELLO_PATH = '/switchyard.test.Greeter/Hello';

const raw = {
  path: HELLO_PATH,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
} as const;

export interface GreeterServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A gRPC server on 127.0.0.1 whose Hello answers `hello from <name>`. */
export async function startGreeter(name: string): Promise<GreeterServer> {
  const server = new grpc.Server();
  server.addService({ Hello: raw }, { Hello: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(`hello from ${name}`)) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** A gRPC xDS bootstrap pointing at Switchyard's gRPC port. */
export function grpcBootstrap(xdsPort: number, nodeId: string): Record<string, unknown> {
  return {
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: nodeId, cluster: 'proxyless', locality: {} },
  };
}

let xdsRegistered = false;

/** A grpc-js client for `xds:///<service>`; `hello()` resolves to the reply text (within `deadlineMs`, 10 s by default). */
export async function grpcJsXdsClient(target: string, bootstrap: Record<string, unknown>): Promise<{ hello(deadlineMs?: number): Promise<string>; close(): void }> {
  if (!xdsRegistered) {
    const xds = (await import('@grpc/grpc-js-xds')) as { register(): void };
    xds.register();
    xdsRegistered = true;
  }
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
  return {
    hello: (deadlineMs = 10_000) =>
      new Promise<string>((resolve, reject) => {
        client.makeUnaryRequest(HELLO_PATH, raw.requestSerialize, raw.responseDeserialize, Buffer.from('hi'), { deadline: Date.now() + deadlineMs }, (err, reply) =>
          err ? reject(err) : resolve((reply as Buffer).toString()),
        );
      }),
    close: () => client.close(),
  };
}

export class PythonXdsClient {
  private out = '';

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  /** Starts the C-core client (installing python3-grpcio into .tools/ on first use). */
  static async start(target: string, bootstrap: Record<string, unknown>): Promise<PythonXdsClient> {
    const tools = (await import(join(REPO, 'scripts/tools.mjs'))) as { installDebianTool(name: string): Record<string, string> };
    let env: Record<string, string>;
    try {
      env = tools.installDebianTool('python-grpcio');
    } catch (err) {
      throw new Error(`gRPC C-core (Debian python3-grpcio) is needed by this test and could not be unpacked into .tools/: ${(err as Error).message}. Run \`node scripts/tools.mjs python-grpcio\`.`);
    }
    const child = spawn('/usr/bin/python3', [join(REPO, 'test/support/xds_client.py'), target, '120'], {
      env: { ...process.env, ...env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const client = new PythonXdsClient(child);
    await waitFor('the python gRPC client to start', () => client.output().includes('started grpc'), { timeoutMs: 10_000 });
    return client;
  }

  output(): string {
    return this.out;
  }

  /** Lines printed since `from` (an offset into output()). */
  linesSince(from: number): string[] {
    return this.out.slice(from).split('\n').filter(Boolean);
  }

  stop(): void {
    this.child.stdin?.end();
    this.child.kill();
  }
}

/**
 * A grpc.health.v1.Health server for check tests: `answer` gets the raw request (field 1 is the
 * service name) and returns the status (1 SERVING, 2 NOT_SERVING).
 */
export function healthServer(answer: (request: Buffer) => number): grpc.Server {
  const server = new grpc.Server();
  const definition: grpc.ServiceDefinition = {
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: Buffer) => v,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (s: number) => Buffer.from([0x08, s]),
      responseDeserialize: (b: Buffer) => b[1],
    },
  };
  server.addService(definition, { Check: (call: { request: Buffer }, cb: (err: null, v: number) => void) => cb(null, answer(call.request)) });
  return server;
}
