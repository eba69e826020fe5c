// Expose.Checks: every HTTP and gRPC check of a sidecar's service that targets the local app
// becomes an exposed path (Consul's parseCheckPath: an HTTP check's URL path, or gRPC's
// /grpc.health.v1.Health/Check over HTTP/2), on a listener port from Consul's range 21500-21755
// (the agent's ports.expose_min_port / expose_max_port).
//
// Ports are handed out per node, without state: every exposable check on the node, in CheckID
// order, takes the next port of the range. Every sidecar of the node computes the same map from
// the same check list, so two sidecars on one host never share a port; a check added or removed
// on the node can move the ports of the checks after it (Envoy then replaces those listeners).
// Consul keeps its ports in the agent's memory instead, which a restart reshuffles too.
import { isIP } from 'node:net';
import type { HealthCheck, HealthCheckDefinition } from '../catalog/types.js';
import type { SourceRange } from './snapshot.js';

/** Listener ports for exposed checks (Consul's ports.expose_min_port / expose_max_port). */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export const DEFAULT_EXPOSED_CHECK_PORTS: PortRange = Object.freeze({ min: 21500, max: 21755 });
/** The path every gRPC health check calls (grpc.health.v1). */
export const GRPC_HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** A check's path as an exposed path would serve it. */
export interface CheckPath {
  readonly checkId: string;
  readonly path: string;
  readonly localPathPort: number;
  readonly protocol: 'http' | 'http2';
  /** The host the check dials (an IP or a name, without brackets). */
  readonly host: string;
  /** Undefined when the node's checks have used up the range before this one. */
  readonly listenerPort: number | undefined;
}

function hostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? { host: (m[1] ?? m[2]) as string, port } : undefined;
}

/**
 * What an HTTP or gRPC check would expose, if it can go through the proxy's plain-HTTP exposed
 * listener: https checks and gRPC checks over TLS cannot (the listener and its cluster speak
 * plain HTTP to the app), nor TTL and TCP checks (nothing to route by path).
 */
function pathOf(def: HealthCheckDefinition): Omit<CheckPath, 'checkId' | 'listenerPort'> | undefined {
  if (def.HTTP) {
    let url: URL;
    try {
      url = new URL(def.HTTP);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'http:') return undefined;
    return { path: url.pathname || '/', localPathPort: url.port ? Number(url.port) : 80, protocol: 'http', host: url.hostname.replace(/^\[|\]$/g, '') };
  }
  if (def.GRPC && !def.GRPCUseTLS) {
    const target = hostPort(def.GRPC.split('/', 1)[0] as string);
    return target ? { path: GRPC_HEALTH_CHECK_PATH, localPathPort: target.port, protocol: 'http2', host: target.host } : undefined;
  }
  return undefined;
}

/** Every exposable service check of a node with its listener port, in CheckID order. */
export function nodeCheckPaths(checks: readonly HealthCheck[], ports: PortRange): { readonly serviceId: string; readonly path: CheckPath }[] {
  const out: { readonly serviceId: string; readonly path: CheckPath }[] = [];
  const sorted = checks.filter((c) => c.ServiceID !== '' && c.Definition).sort((a, b) => (a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0));
  for (const c of sorted) {
    const p = pathOf(c.Definition as HealthCheckDefinition);
    if (!p) continue;
    const port = ports.min + out.length;
    out.push({ serviceId: c.ServiceID, path: { ...p, checkId: c.CheckID, listenerPort: port <= ports.max ? port : undefined } });
  }
  return out;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * The exposed check paths of one sidecar: its service instance's checks that dial the local app
 * (a loopback address, or the proxy's LocalServiceAddress).
 */
export function serviceCheckPaths(checks: readonly HealthCheck[], at: { readonly serviceId: string; readonly localAddress: string; readonly ports: PortRange }): readonly CheckPath[] {
  const { serviceId, localAddress } = at;
  return nodeCheckPaths(checks, at.ports)
    .filter((c) => c.serviceId === serviceId && (isLoopback(c.path.host) || c.path.host === localAddress))
    .map((c) => c.path);
}

/**
 * Who may reach a check's exposed path: 127.0.0.0/8, the proxy's own address when it is a
 * specific one, and ::1 (Consul: localhost and the agent's address, whose checker dials it).
 */
export function checkSources(bindAddress: string): readonly SourceRange[] {
  const family = isIP(bindAddress);
  const own = family !== 0 && bindAddress !== '0.0.0.0' && bindAddress !== '::' && !isLoopback(bindAddress);
  return [{ address: '127.0.0.1', prefixLen: 8 }, ...(own ? [{ address: bindAddress, prefixLen: family === 6 ? 128 : 32 }] : []), { address: '::1', prefixLen: 128 }];
}

/** Two lists of check paths alike (a check's status changes the node's list, not its paths). */
export function sameCheckPaths(a: readonly CheckPath[], b: readonly CheckPath[]): boolean {
  return a.length === b.length && a.every((p, i) => JSON.stringify(p) === JSON.stringify(b[i]));
}
