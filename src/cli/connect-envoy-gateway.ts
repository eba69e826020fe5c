// `connect envoy -gateway mesh|terminating`: registers a gateway through the agent API (`-register`, as
// Consul's `consul connect envoy -gateway mesh -register` does) or finds one already registered.
// The kinds differ only in Kind and the default service name.
// Every flag is checked before anything is sent, so a bad one registers nothing.
//
// The registration is Consul's: Kind mesh-gateway (or terminating-gateway), ID the -proxy-id or else the service name,
// Address and Port from -address, TaggedAddresses `lan` (-address) and `wan` (-wan-address), a
// TCP check "mesh-gateway listening" on the LAN address every 10s; and when both addresses are
// this host's own, Proxy.Config asks for listeners on the tagged addresses instead of the
// service address. The LAN address must be this host's (Envoy binds it); the WAN one may be a
// public address that reaches it through NAT.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { canonicalIp, serviceName } from '../catalog/config/common.js';
import type { ServiceAddress, ServiceInstance } from '../catalog/types.js';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { ParsedFlags } from './flags.js';
import type { ApiClient } from './http-client.js';

export const GATEWAY_FLAGS = {
  gateway: { type: 'string', help: 'configure Envoy as a gateway of this kind: mesh, terminating or ingress (instead of -sidecar-for)' },
  register: { type: 'bool', help: 'register the gateway with the agent before starting Envoy (with -gateway and -address; -service defaults to the kind: mesh-gateway, terminating-gateway, ingress-gateway)' },
  service: { type: 'string', help: "the gateway's service name: registered with -register, otherwise the one to find" },
  address: { type: 'string', help: "IP:PORT of this host where services of this datacenter reach the gateway (LAN; with -register); an ingress gateway's listeners bind its IP (0.0.0.0: every interface)" },
  'wan-address': { type: 'string', help: 'IP:PORT where other datacenters reach the gateway (WAN; with -register; default the LAN address)' },
  'deregister-after-critical': { type: 'string', help: "how long the registered gateway's check may fail before the agent deregisters it (with -register; default 6h)" },
} as const;

const REGISTER_ONLY = ['address', 'wan-address', 'deregister-after-critical'] as const;
const KINDS: Readonly<Record<string, string>> = { mesh: 'mesh-gateway', terminating: 'terminating-gateway', ingress: 'ingress-gateway' };
/** Consul's other kinds: known, and not built here yet. */
const NOT_YET = ['api'];
const SERVED = () => Object.keys(KINDS).map((k) => `"${k}"`).join(', ');
const DEFAULT_DEREGISTER_AFTER = '6h';

type Flags = ParsedFlags<typeof GATEWAY_FLAGS> & { readonly 'proxy-id'?: string; readonly 'sidecar-for'?: string };

/** What -gateway asks for: a registration to make first (or none), and how to find the gateway. */
export interface GatewayRequest {
  readonly kind: string;
  readonly register?: Record<string, unknown>;
  readonly proxyId?: string;
  readonly service?: string;
}

/** `IP:PORT` (an IPv6 address in brackets), port 1-65535; errors name the flag. */
export function ipPort(flag: string, raw: string): ServiceAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
  const address = m ? ((m[1] ?? m[2]) as string) : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || isIP(address) === 0 || (m[1] !== undefined && isIP(address) !== 6)) throw ValidationError.of(`-${flag}`, `must be IP:PORT (an IPv6 address in brackets), got "${raw}"`);
  if (port < 1 || port > 65535) throw ValidationError.of(`-${flag}`, `the port must be between 1 and 65535, got "${raw}"`);
  return { Address: address, Port: port };
}

/** Whether Envoy could bind `address` here: one of this host's interface addresses (as Consul checks). */
function ownAddress(address: string): boolean {
  const wanted = canonicalIp(address);
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => canonicalIp(i.address) === wanted));
}

function formatAddress(a: ServiceAddress): string {
  return isIP(a.Address) === 6 ? `[${a.Address}]:${a.Port}` : `${a.Address}:${a.Port}`;
}

/** Checks the gateway flags; undefined when -gateway is not given (and none of its flags is). */
export function gatewayRequest(flags: Flags): GatewayRequest | undefined {
  const raw = flags.gateway;
  if (raw === undefined) {
    const stray = (['register', 'service', ...REGISTER_ONLY] as const).find((f) => flags[f] !== undefined);
    if (stray) throw ValidationError.of(`-${stray}`, 'is only valid with -gateway');
    return undefined;
  }
  const kind = KINDS[raw];
  if (!kind) {
    if (NOT_YET.includes(raw)) throw ValidationError.of('-gateway', `"${raw}" gateways are not supported yet; the kinds served are ${SERVED()}`);
    throw ValidationError.of('-gateway', `must be one of ${SERVED()} (Consul's kinds are mesh, terminating, ingress and api), got "${raw}"`);
  }
  if (flags['sidecar-for'] !== undefined) throw ValidationError.of('-sidecar-for', 'cannot be combined with -gateway (a gateway is no sidecar)');
  const service = flags.service;
  if (service !== undefined) {
    const r = serviceName.safeParse(service);
    if (!r.success) throw ValidationError.of('-service', `${r.error.issues[0]?.message ?? 'is not a service name'}, got "${service}"`);
  }
  const proxyId = flags['proxy-id'];
  if (!flags.register) {
    const stray = REGISTER_ONLY.find((f) => flags[f] !== undefined);
    if (stray) throw ValidationError.of(`-${stray}`, 'is only valid with -register');
    return { kind, proxyId, service };
  }
  // As Consul: a registered gateway's service is named after its kind unless -service says otherwise.
  const name = service ?? kind;
  if (flags.address === undefined) throw ValidationError.of('-address', "is required with -register: the gateway's LAN address, IP:PORT");
  if (proxyId !== undefined && (proxyId === '' || proxyId.includes('/'))) throw ValidationError.of('-proxy-id', `must be a service ID (not empty, no "/"), got "${proxyId}"`);
  if (kind === 'ingress-gateway') return { kind, register: ingressRegistration(flags, name, proxyId), proxyId: proxyId ?? name, service: name };
  const lan = ipPort('address', flags.address);
  const wan = flags['wan-address'] === undefined ? undefined : ipPort('wan-address', flags['wan-address']);
  if (!ownAddress(lan.Address)) throw ValidationError.of('-address', `${lan.Address} is not an address of this host, so Envoy could not bind it; give one of its interface addresses`);
  const deregisterAfter = flags['deregister-after-critical'] ?? DEFAULT_DEREGISTER_AFTER;
  parseDuration('-deregister-after-critical', deregisterAfter);
  const bindTagged = wan !== undefined && ownAddress(wan.Address);
  const register = {
    Kind: kind,
    ID: proxyId ?? name,
    Name: name,
    Address: lan.Address,
    Port: lan.Port,
    TaggedAddresses: { lan, ...(wan ? { wan } : {}) },
    ...(bindTagged ? { Proxy: { Config: { envoy_gateway_no_default_bind: true, envoy_gateway_bind_tagged_addresses: true } } } : {}),
    Check: { Name: `${kind} listening`, TCP: formatAddress(lan), Interval: '10s', DeregisterCriticalServiceAfter: deregisterAfter },
  };
  return { kind, register, proxyId: register.ID, service: name };
}

/**
 * An ingress gateway's registration, as Consul's: its listeners come from its ingress-gateway
 * entry and bind the registration's Address (0.0.0.0 or :: binds every interface), so there is
 * no WAN address and no check on the registration's port (nothing need listen there).
 */
function ingressRegistration(flags: Flags, name: string, proxyId: string | undefined): Record<string, unknown> {
  if (flags['wan-address'] !== undefined) throw ValidationError.of('-wan-address', 'is only valid with -gateway mesh (an ingress gateway has no WAN address)');
  if (flags['deregister-after-critical'] !== undefined) throw ValidationError.of('-deregister-after-critical', 'is only valid with -gateway mesh (an ingress gateway is registered without a check)');
  const a = ipPort('address', flags.address as string);
  const any = a.Address === '0.0.0.0' || a.Address === '::';
  if (!any && !ownAddress(a.Address)) throw ValidationError.of('-address', `${a.Address} is not an address of this host, so Envoy could not bind its listeners; give one of its interface addresses, or 0.0.0.0`);
  return { Kind: 'ingress-gateway', ID: proxyId ?? name, Name: name, Address: a.Address, Port: a.Port };
}

/** Registers the gateway when asked, then reads its registration back (what the bootstrap is built from). */
export async function gatewayService(api: ApiClient, req: GatewayRequest, say: (line: string) => void): Promise<ServiceInstance> {
  if (req.register) {
    await api.put('/v1/agent/service/register', req.register);
    say(`Registered service: ${String(req.register.Name)}`);
  }
  if (req.proxyId !== undefined) {
    const found = await api.get<ServiceInstance>(`/v1/agent/service/${encodeURIComponent(req.proxyId)}`);
    if (found.Kind !== req.kind) throw ValidationError.of('-proxy-id', `service "${req.proxyId}" is not a ${req.kind}${found.Kind ? ` (it is a ${found.Kind})` : ''}`);
    if (req.service !== undefined && found.Service !== req.service) throw ValidationError.of('-service', `the ${req.kind} "${req.proxyId}" is service "${found.Service}", not "${req.service}"`);
    return found;
  }
  const services = await api.get<Record<string, ServiceInstance>>('/v1/agent/services');
  const gateways = Object.values(services).filter((s) => s.Kind === req.kind && (req.service === undefined || s.Service === req.service));
  const flag = req.service === undefined ? '-gateway' : '-service';
  if (gateways.length === 0) throw ValidationError.of(flag, `no ${req.kind}${req.service === undefined ? '' : ` named "${req.service}"`} is registered with this agent (register one with -register)`);
  if (gateways.length > 1) throw ValidationError.of(flag, `several ${req.kind}s are registered (${gateways.map((s) => s.ID).join(', ')}); pick one with -proxy-id`);
  return gateways[0] as ServiceInstance;
}
