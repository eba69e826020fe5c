// A go-plugin host for CA provider plugins: starts the binary (its sha256 checked first when a
// checksum is configured) with go-plugin's handshake environment, reads the handshake line,
// dials the plugin's gRPC server with AutoMTLS, checks the `plugin` health service, drains
// GRPCStdio and mirrors stderr (hclog JSON) into the agent's log under the plugin's name.
// A plugin that exits on its own is restarted with capped exponential backoff; until it is
// back (and re-configured by `onRestart`), `connection()` refuses with an error naming it.
// A plugin that is alive but hung is treated the same: the provider reports each call that ran
// past its deadline (`missedDeadline`); the host then checks the plugin's health, and kills it
// and restarts it when the health check fails too, or when `maxMissedDeadlines` calls in a row
// ran out of time (a plugin whose health service answers while its CA calls never do).
// `stop()` asks the plugin to shut down (GRPCController.Shutdown) and kills it after a grace
// period. The agent's other exit paths are covered too: a process exit kills every plugin still
// running, and on Linux each plugin gets SIGKILL when the agent dies (setpriv --pdeathsig).
//
// Timeouts of the I/O (handshake, health, shutdown grace) run on real timers; only the restart
// backoff runs on the injected clock.
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { HealthClient, HealthCheckResponse_ServingStatus, type HealthCheckRequest, type HealthCheckResponse } from '../../gen/grpc/health/v1/health.js';
import { CAClient } from '../../gen/plugin/ca.js';
import { GRPCControllerClient, type Empty } from '../../gen/plugin/grpc_controller.js';
import { GRPCStdioClient, StdioData_Channel, type StdioData } from '../../gen/plugin/grpc_stdio.js';
import type { Clock } from '../../core/clock.js';
import { UnavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { backoffDelay } from '../backoff.js';
import { certPem } from '../pem.js';
import { autoMtlsIdentity } from './automtls.js';
import { handshakeEnv, parseHandshake, type Handshake } from './handshake.js';
import { logPluginLine } from './plugin-log.js';

export interface PluginHostOptions {
  /** The plugin binary. */
  readonly cmd: string;
  /** Its sha256, hex: checked before every start when set. */
  readonly checksum?: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly startTimeoutMs?: number;
  readonly shutdownGraceMs?: number;
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Calls in a row past their deadline after which the plugin counts as hung (default 3). */
  readonly maxMissedDeadlines?: number;
  /** How long the health check may take (default 5 s). */
  readonly healthTimeoutMs?: number;
  readonly random?: () => number;
  /** Runs after a restart, before calls are let through again (the provider re-configures the plugin). */
  readonly onRestart?: (conn: PluginConnection) => Promise<void>;
}

export interface PluginConnection {
  readonly ca: CAClient;
  readonly pid: number;
  /** Where the plugin serves (a grpc-js target), and the certificate it proved itself with. */
  readonly target: string;
  readonly serverCert?: Uint8Array;
}

/** The plugin binary is not the one the checksum names. */
export class PluginChecksumError extends Error {}
/** The plugin binary cannot be run at all (missing, not executable). */
export class PluginCommandError extends Error {}

interface Running extends PluginConnection {
  readonly child: ChildProcess;
  readonly channel: grpc.Channel;
  readonly controller: GRPCControllerClient;
  readonly health: HealthClient;
  /** Calls in a row that ran past their deadline. */
  missedDeadlines: number;
  /** The health check a missed deadline started, while it runs. */
  checking?: Promise<void>;
  readonly exited: Promise<void>;
  readonly socketDir: string;
  stdio?: grpc.ClientReadableStream<StdioData>;
}

const DEFAULT_START_TIMEOUT_MS = 15_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 2_000;
const HEALTH_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_MISSED_DEADLINES = 3;
const SETPRIV = '/usr/bin/setpriv';

/** Every plugin process alive in this agent, killed if the agent exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

/** Calls a ts-proto grpc-js client method as a promise, with a deadline. */
export function call<Req, Res>(client: grpc.Client, method: Unary<Req, Res>, req: Req, timeoutMs?: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    const opts = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    method.call(client, req, new grpc.Metadata(), opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export class PluginHost {
  private running?: Running;
  private starting?: Promise<Running>;
  private stopped = false;
  private failures = 0;
  /** Started again after a crash but not re-configured yet: no calls until it is. */
  private restarting = false;
  private cancelRestart = (): void => undefined;
  private problem = 'it has not been started';
  private readonly log: Logger;
  /** How the provider is named in errors: `CA provider plugin "ca-plugin-go"`. */
  readonly label: string;

  constructor(private readonly opts: PluginHostOptions) {
    this.label = `CA provider plugin "${basename(opts.cmd)}"`;
    this.log = opts.logger.child({ component: 'ca-plugin', plugin: basename(opts.cmd) });
  }

  /** Starts the plugin; rejects (and leaves nothing running) when it cannot be started. */
  async start(): Promise<PluginConnection> {
    if (this.stopped) throw new UnavailableError(`${this.label} has been stopped`);
    if (this.running) return this.running;
    this.starting ??= this.launch().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** The running plugin, or an error naming it and saying why it is not there. */
  connection(): PluginConnection {
    if (this.running && !this.restarting) return this.running;
    throw new UnavailableError(`${this.label} is not running (${this.problem})${this.stopped ? '' : '; it is being restarted'}`);
  }

  /** The running plugin's process id (for tests and status). */
  get pid(): number | undefined {
    return this.running?.pid;
  }

  private verifyChecksum(checksum: string): void {
    const actual = sha256File(this.opts.cmd);
    if (actual !== checksum.toLowerCase()) {
      throw new PluginChecksumError(`${this.label}: ${this.opts.cmd} has sha256 ${actual}, not the configured plugin_checksum ${checksum.toLowerCase()}; refusing to start it`);
    }
  }

  private checkBinary(): void {
    const { cmd } = this.opts;
    try {
      accessSync(cmd, constants.X_OK);
    } catch (err) {
      throw new PluginCommandError(`${this.label}: ${cmd} cannot be run: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (this.opts.checksum !== undefined) this.verifyChecksum(this.opts.checksum);
  }

  private async launch(): Promise<Running> {
    this.checkBinary();
    const identity = await autoMtlsIdentity();
    const socketDir = mkdtempSync(join(tmpdir(), 'switchyard-plugin-'));
    const env = { ...process.env, ...handshakeEnv(identity.certPem, socketDir) };
    // With setpriv the plugin gets SIGKILL when the agent dies, however it dies.
    const [file, args] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', this.opts.cmd]] : [this.opts.cmd, []];
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    // A process that could not be spawned at all emits 'error' and never 'exit'.
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const tail: string[] = [];
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      logPluginLine(this.log, line);
    });
    const cleanup = async (): Promise<void> => {
      child.kill('SIGKILL');
      await exited;
      rmSync(socketDir, { recursive: true, force: true });
    };
    let handshake: Handshake;
    try {
      handshake = await this.readHandshake(child, tail);
    } catch (err) {
      await cleanup();
      throw err;
    }
    const creds = handshake.serverCert
      ? grpc.credentials.createSsl(Buffer.from(certPem(handshake.serverCert)), Buffer.from(identity.keyPem), Buffer.from(identity.certPem))
      : grpc.credentials.createInsecure();
    if (!handshake.serverCert) this.log.warn({}, 'the plugin did not answer with an AutoMTLS certificate: its connection is not encrypted');
    const channel = new grpc.Channel(handshake.target, creds, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
    const options = { channelOverride: channel };
    const health = new HealthClient(handshake.target, creds, options);
    const running: Running = {
      child,
      channel,
      exited,
      socketDir,
      pid: child.pid as number,
      target: handshake.target,
      ...(handshake.serverCert ? { serverCert: handshake.serverCert } : {}),
      ca: new CAClient(handshake.target, creds, options),
      controller: new GRPCControllerClient(handshake.target, creds, options),
      health,
      missedDeadlines: 0,
    };
    try {
      await this.checkHealth(running);
    } catch (err) {
      channel.close();
      await cleanup();
      throw new Error(`${this.label} started but is not healthy: ${(err as Error).message}`);
    }
    this.drainStdio(running, handshake.target, creds, options);
    child.once('exit', (code, signal) => this.onExit(running, code, signal));
    this.running = running;
    this.log.info({ pid: running.pid, network: handshake.network, address: handshake.address, mtls: handshake.serverCert !== undefined }, 'CA plugin started');
    return running;
  }

  /** Rejects unless the plugin's health service answers SERVING for "plugin" in time. */
  private async checkHealth(r: Running): Promise<void> {
    const res = await call<HealthCheckRequest, HealthCheckResponse>(r.health, r.health.check, { service: 'plugin' }, this.opts.healthTimeoutMs ?? HEALTH_TIMEOUT_MS);
    if (res.status !== HealthCheckResponse_ServingStatus.SERVING) throw new Error(`its health service answers ${HealthCheckResponse_ServingStatus[res.status] ?? res.status} for "plugin"`);
  }

  /** A call to `conn` was answered (with anything): it is not hung. */
  answered(conn: PluginConnection): void {
    if (this.running === conn) this.running.missedDeadlines = 0;
  }

  /**
   * A call to `conn` ran past its deadline. The plugin's health is checked (once at a time);
   * when that fails too, or this is the `maxMissedDeadlines`th such call in a row, the plugin is
   * hung: it is killed and restarted with backoff like a crashed one.
   */
  missedDeadline(conn: PluginConnection, method: string): void {
    const r = this.running;
    if (r !== conn || this.restarting) return;
    r.missedDeadlines += 1;
    const max = this.opts.maxMissedDeadlines ?? DEFAULT_MAX_MISSED_DEADLINES;
    if (r.missedDeadlines >= max) {
      this.hung(r, `it answered none of the last ${r.missedDeadlines} calls in time (the last: ${method})`);
      return;
    }
    r.checking ??= this.checkHealth(r).then(
      () => {
        r.checking = undefined;
      },
      (err: unknown) => {
        r.checking = undefined;
        this.hung(r, `${method} ran past its deadline and its health check failed: ${(err as grpc.ServiceError).details ?? (err as Error).message}`);
      },
    );
  }

  /** Kills a plugin that no longer answers (Shutdown would not be answered either) and restarts it. */
  private hung(r: Running, why: string): void {
    if (this.running !== r || this.stopped) return;
    this.running = undefined;
    this.problem = `it was hung and has been killed: ${why}`;
    this.log.error({ pid: r.pid, missedDeadlines: r.missedDeadlines }, `${this.label} is hung (${why}); killing it`);
    r.stdio?.cancel();
    r.child.kill('SIGKILL');
    this.scheduleRestart();
  }

  private readHandshake(child: ChildProcess, tail: readonly string[]): Promise<Handshake> {
    const timeoutMs = this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    return new Promise<Handshake>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.label} did not complete the handshake within ${timeoutMs} ms${stderrTail(tail)}`))), timeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(() => reject(new Error(`${this.label} exited (${describeExit(code, signal)}) before the handshake${stderrTail(tail)}`)));
      const onError = (err: Error) => finish(() => reject(new PluginCommandError(`${this.label}: ${this.opts.cmd} cannot be run: ${err.message}`)));
      child.once('exit', onExit);
      child.once('error', onError);
      let first = true;
      lines.on('line', (line) => {
        if (!first) {
          if (line.trim() !== '') this.log.debug({ stdout: line }, 'plugin stdout');
          return;
        }
        first = false;
        finish(() => {
          try {
            resolve(parseHandshake(line));
          } catch (err) {
            reject(new Error(`${this.label}: ${(err as Error).message}`));
          }
        });
      });
    });
  }

  /** What the plugin's code writes to stdout and stderr comes over GRPCStdio; older plugins lack it. */
  private drainStdio(running: Running, target: string, creds: grpc.ChannelCredentials, options: grpc.ClientOptions): void {
    const client = new GRPCStdioClient(target, creds, options);
    const stream = client.streamStdio({});
    running.stdio = stream;
    const partial = { [StdioData_Channel.STDOUT]: '', [StdioData_Channel.STDERR]: '' } as Record<number, string>;
    stream.on('data', (d: StdioData) => {
      const text = (partial[d.channel] ?? '') + Buffer.from(d.data).toString('utf8');
      const lines = text.split('\n');
      partial[d.channel] = lines.pop() ?? '';
      for (const line of lines) {
        if (d.channel === StdioData_Channel.STDERR) logPluginLine(this.log, line, { stdio: 'stderr' });
        else if (line.trim() !== '') this.log.debug({ stdio: 'stdout' }, line);
      }
    });
    stream.on('error', () => undefined);
  }

  private onExit(running: Running, code: number | null, signal: NodeJS.Signals | null): void {
    running.channel.close();
    rmSync(running.socketDir, { recursive: true, force: true });
    if (this.running !== running) return;
    this.running = undefined;
    if (this.stopped) return;
    this.problem = `it exited (${describeExit(code, signal)})`;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    this.failures += 1;
    const delay = backoffDelay(this.failures, { ...this.opts.backoff, random: this.opts.random });
    this.log.error({ failures: this.failures, retryInMs: Math.round(delay) }, `${this.label} is down (${this.problem}); restarting it`);
    this.cancelRestart = this.opts.clock.setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    this.restarting = true;
    try {
      const conn = await this.start();
      await this.opts.onRestart?.(conn);
      this.restarting = false;
      this.log.info({ pid: conn.pid, failures: this.failures }, 'CA plugin restarted');
      this.failures = 0;
    } catch (err) {
      this.restarting = false;
      this.problem = `restarting it failed: ${(err as Error).message}`;
      if (this.running) {
        // It started but could not be re-configured: it must not serve calls with no keys.
        const r = this.running;
        this.running = undefined;
        await this.shutdown(r);
      }
      if (!this.stopped) this.scheduleRestart();
    }
  }

  /** Shuts the plugin down: GRPCController.Shutdown, then SIGKILL after the grace period. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.problem = 'it has been stopped';
    this.cancelRestart();
    const r = this.running ?? (await this.starting?.catch(() => undefined));
    this.running = undefined;
    if (r) await this.shutdown(r);
  }

  private async shutdown(r: Running): Promise<void> {
    const grace = this.opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    r.stdio?.cancel();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), grace);
    });
    const asked = call<Empty, Empty>(r.controller, r.controller.shutdown, {}, grace).catch(() => undefined);
    const outcome = await Promise.race([asked.then(() => r.exited).then(() => 'exited' as const), r.exited.then(() => 'exited' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.warn({ pid: r.pid, graceMs: grace }, 'the CA plugin did not exit after Shutdown; killing it');
      r.child.kill('SIGKILL');
      await r.exited;
    }
    r.channel.close();
    rmSync(r.socketDir, { recursive: true, force: true });
    this.log.info({ pid: r.pid }, 'CA plugin stopped');
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

function stderrTail(tail: readonly string[]): string {
  return tail.length ? `; its stderr ended with: ${tail.slice(-5).join(' | ')}` : '';
}
