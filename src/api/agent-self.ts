// /v1/agent/self and /v1/agent/members: this agent as Consul's clients and CLI read it
// (`consul connect envoy` looks up the gRPC port in DebugConfig.GRPCPort, newer ones in
// xDS.Ports; `consul members` lists the agent). Switchyard is one agent and its own server.
// ACLs as Consul's: self needs agent:read on this node, members lists what node:read allows.
import { firstValueFrom } from 'rxjs';
import type { Catalog } from '../catalog/catalog.js';
import { FILTERED, markFiltered, mayRead, need, visible } from './acl-guard.js';
import type { Route } from './route.js';

export interface AgentInfo {
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  readonly node: string;
  /** The address the agent binds (its members entry's Addr). */
  readonly bind: string;
  /** Bound ports (known once listening). */
  readonly httpPort: () => number;
  readonly grpcPort: () => number;
  /** -1 when off (absent: off). */
  readonly httpsPort?: () => number;
  readonly grpcTlsPort?: () => number;
  readonly version: string;
  /** `GET /v1/agent/host`: the host's memory, CPUs, disk (read by the composition root). */
  readonly host?: () => Record<string, unknown>;
}

/** Consul's serf LAN port, reported as the member's port (Switchyard has no gossip). */
const SERF_LAN_PORT = 8301;
const SERF_WAN_PORT = 8302;

export function agentSelfRoutes(catalog: Catalog, info: AgentInfo): Route[] {
  const nodeId = async () => (await firstValueFrom(catalog.nodeServices(info.node))).value.node?.ID ?? '';
  const member = () => ({
    Name: info.node,
    Addr: info.bind,
    Port: SERF_LAN_PORT,
    Tags: { dc: info.datacenter, role: 'consul', build: info.version, port: String(info.httpPort()), vsn: '2' },
    Status: 1,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  });
  return [
    {
      method: 'GET',
      pattern: '/v1/agent/self',
      acl: need('agent', 'read', () => info.node),
      handler: async () => ({
        body: {
          Config: { Datacenter: info.datacenter, PrimaryDatacenter: info.primaryDatacenter, NodeName: info.node, NodeID: await nodeId(), Server: true, Revision: '', Version: info.version },
          DebugConfig: {
            Datacenter: info.datacenter,
            PrimaryDatacenter: info.primaryDatacenter,
            NodeName: info.node,
            GRPCPort: info.grpcPort(),
            GRPCTLSPort: info.grpcTlsPort?.() ?? -1,
            HTTPPort: info.httpPort(),
            HTTPSPort: info.httpsPort?.() ?? -1,
            ServerMode: true,
            ConnectEnabled: true,
            // Consul's gossip addresses, which its clients read; Switchyard has no serf (joining is not supported).
            SerfAdvertiseAddrLAN: `tcp://${info.bind}:${SERF_LAN_PORT}`,
            SerfAdvertiseAddrWAN: `tcp://${info.bind}:${SERF_WAN_PORT}`,
          },
          Member: member(),
          Meta: {},
          Stats: {},
          xDS: { SupportedProxies: { envoy: [] }, Port: info.grpcPort(), Ports: { Plaintext: info.grpcPort(), TLS: info.grpcTlsPort?.() ?? -1 } },
        },
      }),
    },
    {
      method: 'GET',
      pattern: '/v1/agent/members',
      // Consul lists the members whose node the token may read.
      acl: FILTERED,
      handler: (req) => {
        const { items, hidden } = visible(req, [member()], (acl, m) => mayRead.node(acl, { Node: m.Name }));
        return Promise.resolve(markFiltered(req, { body: items }, hidden));
      },
    },
    // Consul's agent host endpoint needs operator:read.
    ...(info.host ? [{ method: 'GET', pattern: '/v1/agent/host', acl: need('operator', 'read'), handler: () => ({ body: info.host?.() }) } satisfies Route] : []),
  ];
}
