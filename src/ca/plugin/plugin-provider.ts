// `Provider: "plugin"`: a CAProvider whose every method is a plugin.CA call to a plugin process
// run by a PluginHost. The plugin's keys live in the state the CA persists (State), and are
// handed back to a restarted plugin in Configure, so a crash loses no CA. While the plugin is
// down every call fails with an error naming it (503 at the API); a binary that cannot be run
// or fails its checksum, and a configuration the plugin refuses, are a 400 naming the field.
import * as grpc from '@grpc/grpc-js';
import { basename } from 'node:path';
import type { Empty } from '../../gen/google/protobuf/empty.js';
import type { Certificate, ConfigureRequest, GenerateIntermediateCSRResponse, GenerateRootResponse, StateResponse, SupportsCrossSigningResponse } from '../../gen/plugin/ca.js';
import type { Clock } from '../../core/clock.js';
import { UnavailableError, ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { certDer, certPem, fromPem } from '../pem.js';
import type { CAProvider, IntermediateCsr, LeafSignOptions, ProviderConfig, RootChain } from '../provider.js';
import { call, PluginChecksumError, PluginCommandError, PluginHost, type PluginConnection, type PluginHostOptions } from './host.js';
import { configForPlugin, pluginSettingsOf } from './settings.js';

export interface PluginProviderDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Host tuning (backoff, timeouts), for tests. */
  readonly host?: Partial<Pick<PluginHostOptions, 'backoff' | 'random' | 'shutdownGraceMs' | 'startTimeoutMs' | 'maxMissedDeadlines' | 'healthTimeoutMs'>>;
  /** How long one plugin.CA call may take (default 30 s): a hung plugin must not hold signing forever. */
  readonly callTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 30_000;

const CONTEXT = 'invalid CA configuration';

export class PluginProvider implements CAProvider {
  private host?: PluginHost;
  private request?: ConfigureRequest;
  /** How errors name the plugin, known from the first configure() on, running or not. */
  private name = 'CA provider plugin';
  /** Why the last configure() could not start or configure the plugin. */
  private problem?: string;

  private readonly timeoutMs: number;

  constructor(private readonly deps: PluginProviderDeps) {
    this.timeoutMs = deps.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  /** The running plugin's process id (tests). */
  get pid(): number | undefined {
    return this.host?.pid;
  }

  /** The running plugin's connection (tests: where it serves, its AutoMTLS certificate). */
  connection(): PluginConnection {
    if (!this.host) throw this.notRunning();
    return this.host.connection();
  }

  private notRunning(): Error {
    if (!this.problem) return new Error('CA provider used before configure()');
    return new UnavailableError(`${this.name} is not running (${this.problem})`);
  }

  async configure(config: ProviderConfig): Promise<void> {
    const settings = pluginSettingsOf(config.rawConfig);
    this.request = {
      clusterId: config.clusterId,
      isRoot: config.isPrimary,
      datacenter: config.datacenter,
      config: configForPlugin(config.rawConfig),
      state: { ...(config.state ?? {}) },
    };
    this.name = `CA provider plugin "${basename(settings.plugin_cmd)}"`;
    const started = !this.host;
    if (!this.host) {
      const host = new PluginHost({ ...this.deps.host, cmd: settings.plugin_cmd, checksum: settings.plugin_checksum, logger: this.deps.logger, clock: this.deps.clock, onRestart: (c) => this.reconfigure(c) });
      this.host = host;
      try {
        await host.start();
      } catch (err) {
        await host.stop();
        // A later configure() (the CA retrying at startup) starts a fresh host.
        this.host = undefined;
        this.problem = `it could not be started: ${(err as Error).message}`;
        if (err instanceof PluginChecksumError) throw ValidationError.of('Config.plugin_checksum', err.message, CONTEXT);
        if (err instanceof PluginCommandError) throw ValidationError.of('Config.plugin_cmd', err.message, CONTEXT);
        throw new UnavailableError(`the CA provider plugin could not be started: ${(err as Error).message}`);
      }
    }
    try {
      await this.reconfigure(this.host.connection());
    } catch (err) {
      const refused = (err as grpc.ServiceError).code === grpc.status.INVALID_ARGUMENT;
      const error = refused ? ValidationError.of('Config', `${this.host.label} refused its configuration: ${(err as grpc.ServiceError).details}`, CONTEXT) : this.failure('Configure', err);
      // A plugin started for this configuration goes; one already serving the CA stays.
      if (started) {
        await this.host.stop();
        this.host = undefined;
        this.problem = `it could not be configured: ${error.message}`;
      }
      throw error;
    }
    this.problem = undefined;
  }

  private async reconfigure(c: PluginConnection): Promise<void> {
    await call<ConfigureRequest, Empty>(c.ca, c.ca.configure, this.request as ConfigureRequest, this.timeoutMs);
  }

  private get label(): string {
    return this.name;
  }

  private failure(method: string, err: unknown): Error {
    if (err instanceof UnavailableError) return err;
    const e = err as grpc.ServiceError;
    if (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.CANCELLED) return new UnavailableError(`${this.label} is not available (${method}: ${e.details})`);
    if (e.code === grpc.status.DEADLINE_EXCEEDED) return new UnavailableError(`${this.label} did not answer ${method} within ${this.timeoutMs} ms`);
    return new Error(`${this.label}: ${method} failed: ${e.details ?? String(err)}`);
  }

  /** One plugin.CA call on the running plugin; `unimplemented` answers a plugin that lacks the method. */
  private async rpc<Res>(method: string, fn: (c: PluginConnection) => Promise<Res>, unimplemented?: () => Res): Promise<Res> {
    if (!this.host) throw this.notRunning();
    const host = this.host;
    const c = host.connection();
    try {
      const res = await fn(c);
      host.answered(c);
      return res;
    } catch (err) {
      const code = (err as grpc.ServiceError).code;
      // An answer, even an error, shows the plugin alive; running out of time may mean it is hung.
      if (code === grpc.status.DEADLINE_EXCEEDED) host.missedDeadline(c, method);
      else if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.CANCELLED) host.answered(c);
      if (unimplemented && code === grpc.status.UNIMPLEMENTED) return unimplemented();
      throw this.failure(method, err);
    }
  }

  private cert(method: string, res: Certificate): Uint8Array {
    if (res.crtDer.length > 0) return res.crtDer;
    if (res.crtPem !== '') return certDer(res.crtPem);
    throw new Error(`${this.label}: ${method} answered no certificate`);
  }

  private async certCall<Req>(method: string, req: Req, pick: (ca: PluginConnection['ca']) => (req: Req, md: grpc.Metadata, o: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Certificate) => void) => grpc.ClientUnaryCall): Promise<Uint8Array> {
    const res = await this.rpc(method, (c) => call<Req, Certificate>(c.ca, pick(c.ca), req, this.timeoutMs));
    return this.cert(method, res);
  }

  async state(): Promise<Record<string, string>> {
    const res = await this.rpc('State', (c) => call<Empty, StateResponse>(c.ca, c.ca.state, {}, this.timeoutMs), () => ({ state: {} }));
    // What a restarted plugin is configured with.
    if (this.request) this.request = { ...this.request, state: { ...res.state } };
    return { ...res.state };
  }

  async generateRoot(): Promise<RootChain> {
    const res = await this.rpc('GenerateRoot', (c) => call<Empty, GenerateRootResponse>(c.ca, c.ca.generateRoot, {}, this.timeoutMs));
    await this.state();
    // Consul's plugins answer GenerateRoot with nothing: the root is ActiveRoot's.
    if (res.rootDer.length === 0) return { root: await this.certCall('ActiveRoot', {}, (ca) => ca.activeRoot), intermediates: [] };
    return { root: res.rootDer, intermediates: res.intermediatesDer };
  }

  async generateIntermediateCsr(): Promise<IntermediateCsr> {
    const res = await this.rpc('GenerateIntermediateCSR', (c) => call<Empty, GenerateIntermediateCSRResponse>(c.ca, c.ca.generateIntermediateCsr, {}, this.timeoutMs));
    const csr = res.csrDer.length > 0 ? res.csrDer : fromPem(res.csrPem).find((b) => b.label === 'CERTIFICATE REQUEST')?.der;
    if (!csr) throw new Error(`${this.label}: GenerateIntermediateCSR answered no CSR`);
    return { csr, opaque: res.opaque };
  }

  async setIntermediate(intermediate: Uint8Array, root: Uint8Array, opaque: string): Promise<void> {
    const req = { intermediatePem: certPem(intermediate), rootPem: certPem(root), intermediateDer: intermediate, rootDer: root, opaque };
    await this.rpc('SetIntermediate', (c) => call(c.ca, c.ca.setIntermediate, req, this.timeoutMs));
    await this.state();
  }

  activeLeafSigningCert(): Promise<Uint8Array> {
    return this.certCall('ActiveIntermediate', {}, (ca) => ca.activeIntermediate);
  }

  /** Consul's GenerateIntermediate: a new leaf-signing intermediate (the CA asks only when the plugin's is apart from its root). */
  generateLeafSigningCert(): Promise<Uint8Array> {
    return this.certCall('GenerateIntermediate', {}, (ca) => ca.generateIntermediate);
  }

  sign(csr: Uint8Array, opts: LeafSignOptions): Promise<Uint8Array> {
    return this.certCall('Sign', { csr, ttlMs: Math.round(opts.ttlMs) }, (ca) => ca.sign);
  }

  signIntermediate(csr: Uint8Array): Promise<Uint8Array> {
    return this.certCall('SignIntermediate', { csr }, (ca) => ca.signIntermediate);
  }

  crossSignCA(cert: Uint8Array): Promise<Uint8Array> {
    return this.certCall('CrossSignCA', { crt: cert }, (ca) => ca.crossSignCa);
  }

  async supportsCrossSigning(): Promise<boolean> {
    // Consul's first protocol had no such method, and every plugin of it had CrossSignCA.
    const res = await this.rpc('SupportsCrossSigning', (c) => call<Empty, SupportsCrossSigningResponse>(c.ca, c.ca.supportsCrossSigning, {}, this.timeoutMs), () => ({ supportsCrossSigning: true }));
    return res.supportsCrossSigning;
  }

  async cleanup(providerTypeChange: boolean, otherConfig: Readonly<Record<string, unknown>>): Promise<void> {
    try {
      await this.rpc('Cleanup', (c) => call(c.ca, c.ca.cleanup, { providerTypeChange, otherConfig: new TextEncoder().encode(JSON.stringify(otherConfig)) }, this.timeoutMs), () => ({}));
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.host?.stop();
  }
}

