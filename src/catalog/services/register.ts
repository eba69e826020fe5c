// Turns a validated registration into the rows Consul's agent would store: the service, its
// sidecar (Connect.SidecarService expanded as Consul does) and their checks.
import { isIP } from 'node:net';
import { ValidationError, type FieldIssue } from '../../core/errors.js';
import { DEFAULT_NAMESPACE, sidecarServiceName } from '../../core/names.js';
import { formatPath } from '../../core/validate.js';
import { canonicalIp } from '../config/common.js';
import type { HealthCheck, HealthCheckDefinition, ServiceInstance } from '../types.js';
import type { CheckDefinition, Registration, SidecarRegistration } from './schema.js';
import { withAgentDefaults } from './tagged-addresses.js';

export const SIDECAR_PORT_MIN = 21000;
export const SIDECAR_PORT_MAX = 21255;
/** Where a proxy's public listener and its upstreams bind when the registration does not say. */
export const DEFAULT_PUBLIC_BIND_ADDRESS = '0.0.0.0';

/**
 * The public listener's address: Config.bind_address, else the registration's Address when it is
 * an IP literal (as Consul binds it; a host name cannot be bound, so it falls back), else 0.0.0.0.
 */
export function publicBindAddress(proxy: Pick<StoredService, 'Address' | 'Proxy'>): string {
  const configured = (proxy.Proxy?.Config as { bind_address?: unknown } | undefined)?.bind_address;
  if (typeof configured === 'string' && configured !== '') return configured;
  return proxy.Address && isIP(proxy.Address) !== 0 ? proxy.Address : DEFAULT_PUBLIC_BIND_ADDRESS;
}
export const DEFAULT_UPSTREAM_BIND_ADDRESS = '127.0.0.1';

export type StoredService = Omit<ServiceInstance, 'CreateIndex' | 'ModifyIndex'>;
export type StoredCheck = Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>;

export interface RegisterContext {
  readonly node: string;
  readonly datacenter: string;
  /** Services already on the node, by ID (to keep a sidecar's port and find free ones). */
  readonly existing: ReadonlyMap<string, StoredService>;
  /** Existing checks by CheckID (a re-registered check keeps its status). */
  readonly existingChecks: ReadonlyMap<string, StoredCheck>;
}

export interface Expanded {
  readonly services: StoredService[];
  readonly checks: StoredCheck[];
}

export function expandRegistration(reg: Registration, ctx: RegisterContext): Expanded {
  const service = toService(reg, reg.Kind ?? '', ctx);
  const services = [service];
  const checks = toChecks(service, reg, ctx);
  if (service.Kind === 'connect-proxy') checkServable(service, ['Proxy'], ctx, [service]);
  const sidecarReg = reg.Connect?.SidecarService;
  if (sidecarReg) {
    const sidecar = expandSidecar(service, sidecarReg, ctx);
    checkServable(sidecar, ['Connect', 'SidecarService', 'Proxy'], ctx, [service, sidecar]);
    services.push(sidecar);
    checks.push(...toChecks(sidecar, sidecarReg, ctx));
  }
  return { services, checks };
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::']);

/** Two listeners on one host collide on one port when their addresses are equal or either is the wildcard. */
function sameSocket(a: { address: string; port: number }, b: { address: string; port: number }): boolean {
  return a.port === b.port && (a.address === b.address || ANY_ADDRESS.has(a.address) || ANY_ADDRESS.has(b.address));
}

interface UpstreamSocket {
  readonly address: string;
  readonly port: number;
  readonly index: number;
}

/** Stored registrations are immutable: their sockets are worked out once, not on every registration of the node. */
const socketsOf = new WeakMap<object, readonly UpstreamSocket[]>();

function upstreamSockets(proxy: Pick<StoredService, 'Proxy'>): readonly UpstreamSocket[] {
  let sockets = socketsOf.get(proxy);
  if (!sockets) {
    sockets = (proxy.Proxy?.Upstreams ?? []).flatMap((u, index) => (u.LocalBindPort ? [{ address: canonicalIp(u.LocalBindAddress || DEFAULT_UPSTREAM_BIND_ADDRESS), port: u.LocalBindPort, index }] : []));
    socketsOf.set(proxy, sockets);
  }
  return sockets;
}

/**
 * Where a proxy runs, as far as the catalog tells: its Address, else the Address of the service it
 * fronts ('' is the node's own address). Sidecars of services with their own addresses (pods, each
 * with its own loopback) may bind the same upstream ports; sidecars on the node's address may not.
 */
function hostOf(proxy: StoredService, services: Pick<ReadonlyMap<string, StoredService>, 'get'>): string {
  const dest = proxy.Proxy?.DestinationServiceID;
  return proxy.Address || (dest ? services.get(dest)?.Address : undefined) || '';
}

/**
 * No upstream may bind an address and port another sidecar's upstream on the same host of the
 * node already binds: their Envoys share the host, and the second one's listener would fail to bind.
 */
function upstreamBindIssues(proxy: StoredService, path: readonly PropertyKey[], ctx: RegisterContext, registering: readonly StoredService[]): FieldIssue[] {
  const mineAll = upstreamSockets(proxy);
  if (mineAll.length === 0) return [];
  const registeringById = new Map(registering.map((s) => [s.ID, s] as const));
  const lookup: Pick<ReadonlyMap<string, StoredService>, 'get'> = { get: (id) => registeringById.get(id) ?? ctx.existing.get(id) };
  const host = hostOf(proxy, lookup);
  const others: StoredService[] = [];
  for (const s of ctx.existing.values()) if (s.ID !== proxy.ID && s.Kind === 'connect-proxy' && upstreamSockets(s).length > 0 && hostOf(s, lookup) === host) others.push(s);
  return mineAll.flatMap((mine) => {
    for (const other of others) {
      const theirs = upstreamSockets(other).find((t) => sameSocket(mine, t));
      if (theirs) {
        const owner = other.Proxy?.DestinationServiceName ? ` (the sidecar of ${other.Proxy.DestinationServiceName})` : '';
        return [{ path: formatPath([...path, 'Upstreams', mine.index, 'LocalBindPort']), message: `${mine.address}:${mine.port} is already bound on this node by upstream ${theirs.index} of service "${other.ID}"${owner}; choose another LocalBindPort` }];
      }
    }
    return [];
  });
}

/** Refuses a connect-proxy whose configuration Envoy would reject or Switchyard cannot build. */
function checkServable(proxy: StoredService, path: readonly PropertyKey[], ctx: RegisterContext, registering: readonly StoredService[]): void {
  const issues = [...unservableIssues(proxy, path), ...upstreamBindIssues(proxy, path, ctx, registering)];
  if (issues.length > 0) throw new ValidationError(issues, 'invalid service registration');
}

/**
 * Why no configuration could be built for a connect-proxy registration (empty when one can): the
 * one decision, made when it is registered (a 400 naming the fields) and again by proxycfg for a
 * record stored before a rule existed (an issue in its xDS status). `path` is where the proxy's
 * `Proxy` block is in the input.
 */
export function unservableIssues(proxy: Pick<StoredService, 'Address' | 'Port' | 'Proxy'>, path: readonly PropertyKey[]): FieldIssue[] {
  return [...publicListenerIssues(proxy, path), ...unsupportedIssues(proxy, path)];
}

/**
 * No upstream may bind the proxy's public listener address and port (Config bind_address,
 * default 0.0.0.0, and bind_port, default its Port): Envoy refuses two listeners on one address.
 */
function publicListenerIssues(proxy: Pick<StoredService, 'Address' | 'Port' | 'Proxy'>, path: readonly PropertyKey[]): FieldIssue[] {
  const config = (proxy.Proxy?.Config ?? {}) as { bind_port?: number };
  const address = canonicalIp(publicBindAddress(proxy));
  const port = config.bind_port ?? proxy.Port;
  return (proxy.Proxy?.Upstreams ?? []).flatMap((u, i) =>
    canonicalIp(u.LocalBindAddress || DEFAULT_UPSTREAM_BIND_ADDRESS) === address && u.LocalBindPort === port
      ? [{ path: formatPath([...path, 'Upstreams', i, 'LocalBindPort']), message: `${port} on ${address} is the proxy's public listener` }]
      : [],
  );
}

/** What Consul serves and Switchyard does not yet: no configuration could be built for it. */
function unsupportedIssues(proxy: Pick<StoredService, 'Proxy'>, path: readonly PropertyKey[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (proxy.Proxy?.Mode === 'transparent') issues.push({ path: formatPath([...path, 'Mode']), message: 'transparent proxying is not supported; use explicit upstreams (Mode "direct")' });
  (proxy.Proxy?.Upstreams ?? []).forEach((u, i) => {
    const at = (field: string) => formatPath([...path, 'Upstreams', i, field]);
    if (u.DestinationType === 'prepared_query') issues.push({ path: at('DestinationType'), message: 'prepared_query upstreams are not supported' });
  });
  return issues;
}

function toService(reg: Registration | SidecarRegistration, kind: ServiceInstance['Kind'], ctx: RegisterContext): StoredService {
  const name = reg.Name as string;
  const tagged = withAgentDefaults(reg.TaggedAddresses, reg.Address ?? '', reg.Port ?? 0);
  return {
    ID: reg.ID ?? name,
    Service: name,
    Kind: kind,
    Tags: reg.Tags ?? [],
    Meta: reg.Meta ?? {},
    Address: reg.Address ?? '',
    Port: reg.Port ?? 0,
    ...(Object.keys(tagged).length > 0 ? { TaggedAddresses: tagged } : {}),
    Namespace: DEFAULT_NAMESPACE,
    Datacenter: ctx.datacenter,
    Node: ctx.node,
    ...(reg.Proxy ? { Proxy: { ...reg.Proxy, DestinationServiceName: reg.Proxy.DestinationServiceName ?? '' } } : {}),
    ...('Connect' in reg && reg.Connect?.Native ? { Connect: { Native: true } } : {}),
    ...(reg.EnableTagOverride ? { EnableTagOverride: true } : {}),
    ...(reg.Locality ? { Locality: reg.Locality } : {}),
  };
}

/** Consul's sidecar defaults: `<name>-sidecar-proxy`, a port from 21000-21255, local app on 127.0.0.1:<port>. */
function expandSidecar(parent: StoredService, reg: SidecarRegistration, ctx: RegisterContext): StoredService {
  const id = reg.ID ?? sidecarServiceName(parent.ID);
  const port = reg.Port || ctx.existing.get(id)?.Port || freeSidecarPort(ctx, id);
  const base = toService({ ...reg, Name: reg.Name ?? sidecarServiceName(parent.Service), ID: id, Port: port }, 'connect-proxy', ctx);
  return {
    ...base,
    Tags: reg.Tags ?? parent.Tags,
    Meta: reg.Meta ?? parent.Meta,
    Proxy: {
      ...reg.Proxy,
      DestinationServiceName: parent.Service,
      DestinationServiceID: parent.ID,
      LocalServiceAddress: reg.Proxy?.LocalServiceAddress || '127.0.0.1',
      LocalServicePort: reg.Proxy?.LocalServicePort || parent.Port,
    },
  };
}

function freeSidecarPort(ctx: RegisterContext, forId: string): number {
  const used = new Set([...ctx.existing.values()].filter((s) => s.ID !== forId).map((s) => s.Port));
  for (let p = SIDECAR_PORT_MIN; p <= SIDECAR_PORT_MAX; p++) if (!used.has(p)) return p;
  throw ValidationError.of('Connect.SidecarService.Port', `no free sidecar port left in ${SIDECAR_PORT_MIN}-${SIDECAR_PORT_MAX}; set one`);
}

function checkType(c: CheckDefinition): string {
  if (c.TTL) return 'ttl';
  if (c.HTTP) return 'http';
  if (c.TCP) return 'tcp';
  return 'grpc';
}

function toChecks(service: StoredService, reg: Registration | SidecarRegistration, ctx: RegisterContext): StoredCheck[] {
  const defs = reg.Checks?.length ? reg.Checks : reg.Check ? [reg.Check] : [];
  return defs.map((c, i) => {
    const id = c.CheckID ?? c.ID ?? (defs.length > 1 ? `service:${service.ID}:${i + 1}` : `service:${service.ID}`);
    return checkRecord(c, { id, name: c.Name || `Service '${service.Service}' check`, service, node: ctx.node, before: ctx.existingChecks.get(id) });
  });
}

/** A check as stored, from its definition (a service's, or one registered on its own). */
export function checkRecord(
  c: CheckDefinition,
  at: { readonly id: string; readonly name: string; readonly service: Pick<StoredService, 'ID' | 'Service'> | undefined; readonly node: string; readonly before: StoredCheck | undefined },
): StoredCheck {
  const { id, before } = at;
  const definition: HealthCheckDefinition = {
    ...(c.TTL ? { TTL: c.TTL } : {}),
    ...(c.HTTP ? { HTTP: c.HTTP, Method: c.Method, Header: c.Header, Body: c.Body, TLSSkipVerify: c.TLSSkipVerify } : {}),
    ...(c.TCP ? { TCP: c.TCP } : {}),
    ...(c.GRPC ? { GRPC: c.GRPC, GRPCUseTLS: c.GRPCUseTLS } : {}),
    Interval: c.Interval,
    Timeout: c.Timeout,
    DeregisterCriticalServiceAfter: c.DeregisterCriticalServiceAfter,
  };
  return {
    Node: at.node,
    CheckID: id,
    Name: at.name,
    Status: c.Status ?? before?.Status ?? 'critical',
    Notes: c.Notes ?? '',
    Output: before?.Output ?? '',
    ServiceID: at.service?.ID ?? '',
    ServiceName: at.service?.Service ?? '',
    Type: checkType(c),
    Definition: definition,
  };
}
