// `switchyard connect envoy`: builds a sidecar's or a mesh gateway's bootstrap from its
// registration (registering the gateway first with -register) and either prints it
// (-bootstrap) or runs Envoy with it, passing signals through and exiting as Envoy does.
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceInstance } from '../catalog/types.js';
import { ValidationError } from '../core/errors.js';
import { toJson } from '../core/proto.js';
import { Bootstrap } from '../gen/envoy/config/bootstrap/v3/bootstrap.js';
import { generateBootstrap } from '../xds/bootstrap.js';
import type { Command } from './command.js';
import { GATEWAY_FLAGS, gatewayRequest, gatewayService } from './connect-envoy-gateway.js';
import { findEnvoy } from './envoy-binary.js';
import { flagsHelp, noArguments, parseFlags } from './flags.js';
import { ApiClient, CA_FILE_HELP, caFile, HTTP_ADDR_HELP, httpAddr, readCaFile } from './http-client.js';
import { rootsBundle } from '../ca/agent-tls.js';
import type { CARoots } from '../ca/types.js';

const FLAGS = {
  'sidecar-for': { type: 'string', help: 'ID of the service whose sidecar proxy this Envoy is' },
  'proxy-id': { type: 'string', help: 'ID of the proxy service registration (instead of -sidecar-for)' },
  bootstrap: { type: 'bool', help: 'print the bootstrap JSON instead of running Envoy' },
  'admin-bind': { type: 'string', help: "Envoy's admin address", default: '127.0.0.1:19000' },
  'grpc-addr': { type: 'string', help: "Switchyard's gRPC (xDS) address, https://ADDR:PORT for its TLS port (default $CONSUL_GRPC_ADDR, else the HTTP address's host with the gRPC port the agent reports, its TLS one if it serves one)" },
  'grpc-ca-file': { type: 'string', help: "CA file (PEM) Envoy verifies the agent's TLS gRPC certificate with; implies TLS (default $CONSUL_GRPC_CACERT, else -ca-file, else the agent's CA roots from /v1/connect/ca/roots)" },
  'http-addr': { type: 'string', help: HTTP_ADDR_HELP },
  'ca-file': { type: 'string', help: CA_FILE_HELP },
  token: { type: 'string', help: "ACL token for the agent's API and the proxy's xDS stream (x-consul-token); default $CONSUL_HTTP_TOKEN" },
  'token-file': { type: 'string', help: 'file holding the ACL token (instead of -token); default $CONSUL_HTTP_TOKEN_FILE' },
  'ads-mode': { type: 'string', help: 'delta or sotw', default: 'delta' },
  ...GATEWAY_FLAGS,
} as const;

/**
 * `host:port` with a port in range, the host resolved to an IP (Envoy's socket addresses take
 * IPs only: `localhost:19000` would be refused by Envoy at startup); errors name the flag.
 */
export async function resolvedHostPort(flag: string, raw: string): Promise<{ host: string; port: number }> {
  const { host, port } = hostPort(flag, raw);
  if (isIP(host)) return { host, port };
  try {
    return { host: (await lookup(host)).address, port };
  } catch (err) {
    throw ValidationError.of(`-${flag}`, `cannot resolve "${host}" to an IP address: ${(err as Error).message}`);
  }
}

interface XdsTarget {
  readonly addr: string;
  /** Whether the port is the agent's TLS one. */
  readonly tls: boolean;
}

/**
 * Where Envoy reaches the xDS port, as `consul connect envoy` decides: the flag or
 * $CONSUL_GRPC_ADDR (TLS when it starts with https://, or when a gRPC CA file is given), else the
 * agent's host with the port /v1/agent/self reports, its TLS port when it serves one (xDS.Ports.TLS,
 * DebugConfig.GRPCTLSPort), else its plaintext one.
 */
async function xdsTarget(flag: string | undefined, grpcCaGiven: boolean, env: Readonly<Record<string, string | undefined>>, api: ApiClient): Promise<XdsTarget> {
  const given = flag || env.CONSUL_GRPC_ADDR;
  if (given) return { addr: given.replace(/^https?:\/\//i, ''), tls: /^https:\/\//i.test(given) || grpcCaGiven };
  const self = await api.get<{ DebugConfig?: { GRPCPort?: number; GRPCTLSPort?: number }; xDS?: { Ports?: { Plaintext?: number; TLS?: number } } }>('/v1/agent/self');
  const tlsPort = self.xDS?.Ports?.TLS ?? self.DebugConfig?.GRPCTLSPort ?? -1;
  const plainPort = self.xDS?.Ports?.Plaintext ?? self.DebugConfig?.GRPCPort ?? -1;
  const host = new URL(api.base).hostname.replace(/^\[(.*)\]$/, '$1');
  if (tlsPort > 0) return { addr: `${host}:${tlsPort}`, tls: true };
  if (plainPort > 0) return { addr: `${host}:${plainPort}`, tls: false };
  throw ValidationError.of('-grpc-addr', 'is required: the agent reports no gRPC port');
}

/**
 * The CA Envoy trusts the agent's TLS gRPC certificate with: -grpc-ca-file, $CONSUL_GRPC_CACERT,
 * -ca-file, $CONSUL_CACERT, else the agent's CA roots (which sign the certificate it issues itself).
 */
async function xdsCa(flags: { 'grpc-ca-file'?: string; 'ca-file'?: string }, env: Readonly<Record<string, string | undefined>>, api: ApiClient): Promise<string> {
  const grpcFile = flags['grpc-ca-file'] || env.CONSUL_GRPC_CACERT;
  if (grpcFile) return readCaFile(grpcFile, flags['grpc-ca-file'] ? '-grpc-ca-file' : 'CONSUL_GRPC_CACERT');
  const httpFile = caFile(flags['ca-file'], env);
  if (httpFile) return readCaFile(httpFile, flags['ca-file'] ? '-ca-file' : 'CONSUL_CACERT');
  return rootsBundle(await api.get<CARoots>('/v1/connect/ca/roots'));
}

/**
 * The ACL token, as Consul's CLI finds it: -token, else -token-file, else $CONSUL_HTTP_TOKEN,
 * else $CONSUL_HTTP_TOKEN_FILE; a file's content trimmed. Undefined when none is given.
 */
export function aclToken(flags: { token?: string; 'token-file'?: string }, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (flags.token) return flags.token;
  const fromFile = (flag: string, path: string) => {
    try {
      const token = readFileSync(path, 'utf8').trim();
      if (!token) throw new Error('the file is empty');
      return token;
    } catch (err) {
      throw ValidationError.of(flag, `cannot read the token from "${path}": ${(err as Error).message}`);
    }
  };
  if (flags['token-file']) return fromFile('-token-file', flags['token-file']);
  if (env.CONSUL_HTTP_TOKEN) return env.CONSUL_HTTP_TOKEN;
  if (env.CONSUL_HTTP_TOKEN_FILE) return fromFile('CONSUL_HTTP_TOKEN_FILE', env.CONSUL_HTTP_TOKEN_FILE);
  return undefined;
}

/** The registration's `envoy_extra_static_clusters_json` (checked when it was registered). */
function extraClustersOf(proxy: ServiceInstance): string | undefined {
  const v = proxy.Proxy?.Config?.envoy_extra_static_clusters_json;
  return typeof v === 'string' ? v : undefined;
}

/** `host:port` with a port in range; errors name the flag. */
export function hostPort(flag: string, raw: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw ValidationError.of(`-${flag}`, `must be ADDRESS:PORT, got "${raw}"`);
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

async function findProxy(api: ApiClient, flags: { 'sidecar-for'?: string; 'proxy-id'?: string }): Promise<ServiceInstance> {
  const proxyId = flags['proxy-id'];
  if (proxyId) {
    const proxy = await api.get<ServiceInstance>(`/v1/agent/service/${encodeURIComponent(proxyId)}`);
    // A typical service gets no xDS configuration: its Envoy would wait for one forever.
    if (!proxy.Kind) throw ValidationError.of('-proxy-id', `service "${proxyId}" is not a proxy or gateway; give the proxy's ID, or -sidecar-for ${proxyId} for its sidecar`);
    return proxy;
  }
  const target = flags['sidecar-for'];
  if (!target) throw ValidationError.of('-sidecar-for', 'one of -sidecar-for, -proxy-id or -gateway is required');
  const services = await api.get<Record<string, ServiceInstance>>('/v1/agent/services');
  const sidecars = Object.values(services).filter((s) => s.Kind === 'connect-proxy' && (s.Proxy?.DestinationServiceID ?? s.Proxy?.DestinationServiceName) === target);
  if (sidecars.length === 0) throw ValidationError.of('-sidecar-for', `no sidecar proxy is registered for service ID "${target}"`);
  if (sidecars.length > 1) throw ValidationError.of('-sidecar-for', `several sidecar proxies for "${target}" (${sidecars.map((s) => s.ID).join(', ')}); pick one with -proxy-id`);
  return sidecars[0] as ServiceInstance;
}

/**
 * Envoys on one host need distinct base ids (their shared-memory and hot-restart socket names);
 * the second one started with the default 0 exits at once. Unless the operator chose one, Envoy
 * picks an unused id itself, so several sidecars run side by side as they are meant to.
 */
function baseIdArgs(passthrough: readonly string[]): string[] {
  const chosen = passthrough.some((a) => /^--(base-id|use-dynamic-base-id)(=|$)/.test(a));
  return chosen ? [] : ['--use-dynamic-base-id'];
}

export const connectEnvoyCommand: Command = {
  name: 'connect envoy',
  summary: 'Run (or print the bootstrap of) an Envoy sidecar, mesh gateway, terminating gateway or ingress gateway configured by Switchyard',
  help: `${flagsHelp(FLAGS)}\n\nA mesh gateway: -gateway mesh -register [-service NAME] -address IP:PORT [-wan-address IP:PORT]\nregisters it with the agent first (NAME defaults to mesh-gateway; ID: -proxy-id, else NAME); without -register, -gateway mesh\n[-service NAME | -proxy-id ID] finds a registered one. -gateway terminating does the same for a terminating gateway\n(NAME defaults to terminating-gateway). An ingress gateway: -gateway ingress -register [-service NAME] -address IP:PORT\n(NAME defaults to ingress-gateway; its listeners, from its ingress-gateway entry, bind the address's IP).\n(Consul's -bind-address and -expose-servers are not supported.)\n\nArguments after -- are passed to Envoy; without a --base-id among them Envoy runs with\n--use-dynamic-base-id, so several sidecars can share a host. Envoy is found through $ENVOY_BIN,\nPATH, or .tools/.`,
  async run(args, io) {
    const { flags, positional, passthrough } = parseFlags(FLAGS, args);
    noArguments(positional, 'arguments for Envoy go after --');
    const mode = flags['ads-mode'];
    if (mode !== 'delta' && mode !== 'sotw') throw ValidationError.of('-ads-mode', `must be delta or sotw, got "${mode}"`);
    const admin = await resolvedHostPort('admin-bind', flags['admin-bind'] as string);
    const gateway = gatewayRequest(flags);
    // One token for the agent's API (the proxy lookup, a gateway's registration) and the stream.
    const token = aclToken(flags, io.env);
    const api = new ApiClient(httpAddr(flags['http-addr'], io.env), token, { caFile: caFile(flags['ca-file'], io.env) });
    const target = await xdsTarget(flags['grpc-addr'], Boolean(flags['grpc-ca-file'] || io.env.CONSUL_GRPC_CACERT), io.env, api);
    const grpc = await resolvedHostPort('grpc-addr', target.addr);
    const xdsTls = target.tls ? { caPem: await xdsCa(flags, io.env, api) } : undefined;
    // With -bootstrap stdout is the bootstrap alone.
    const say = (line: string) => (flags.bootstrap ? undefined : io.stdout(`${line}\n`));
    const proxy = gateway ? await gatewayService(api, gateway, say) : await findProxy(api, flags);
    const bootstrap = generateBootstrap({
      proxyId: proxy.ID,
      // A gateway fronts no service: its node cluster is its own name (its DestinationServiceName is empty).
      service: proxy.Proxy?.DestinationServiceName || proxy.Service,
      namespace: proxy.Namespace,
      datacenter: proxy.Datacenter,
      xdsAddress: grpc.host,
      xdsPort: grpc.port,
      adminAddress: admin.host,
      adminPort: admin.port,
      adsMode: mode,
      token,
      xdsTls,
      extraStaticClustersJson: extraClustersOf(proxy),
    });
    const json = JSON.stringify(toJson(Bootstrap, bootstrap), null, 2);
    if (flags.bootstrap) {
      io.stdout(`${json}\n`);
      return 0;
    }
    const envoy = findEnvoy(io.env);
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-envoy-'));
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, json, { mode: 0o600 });
    const child = spawn(envoy, ['-c', file, ...baseIdArgs(passthrough), ...passthrough], { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const code = await new Promise<number>((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1))));
    for (const [s, h] of handlers) process.off(s, h);
    rmSync(dir, { recursive: true, force: true });
    return code;
  },
};
