// A golden scenario's inputs, as an operator would send them to Consul's HTTP API: service
// registrations (bodies of PUT /v1/agent/service/register, grouped by the node whose agent
// received them), config entries (bodies of PUT /v1/config), intentions (bodies of
// PUT /v1/connect/intentions/exact) and the ACL default policy for intentions.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = new URL('../../../fixtures/', import.meta.url).pathname;

export interface AgentCheckRegistration {
  readonly CheckID?: string;
  readonly Name?: string;
  readonly TTL?: string;
  readonly Status?: 'passing' | 'warning' | 'critical';
  readonly Notes?: string;
}

/** Body of PUT /v1/agent/service/register (the subset the scenarios use). */
export interface AgentServiceRegistration {
  readonly ID?: string;
  readonly Name: string;
  readonly Kind?: 'connect-proxy' | 'mesh-gateway' | 'terminating-gateway' | 'ingress-gateway';
  readonly Tags?: readonly string[];
  readonly Meta?: Readonly<Record<string, string>>;
  readonly Address?: string;
  readonly TaggedAddresses?: Readonly<Record<string, { readonly Address: string; readonly Port: number }>>;
  readonly Port?: number;
  readonly Proxy?: Record<string, unknown>;
  readonly Connect?: { readonly Native?: boolean };
  readonly Check?: AgentCheckRegistration;
  readonly Checks?: readonly AgentCheckRegistration[];
}

export interface ScenarioNode {
  readonly Node: string;
  readonly Address: string;
  readonly Services: readonly AgentServiceRegistration[];
}

/** Body of PUT /v1/connect/intentions/exact?source=...&destination=... plus its query. */
export interface IntentionInput {
  readonly SourceName: string;
  readonly SourceNS?: string;
  readonly DestinationName: string;
  readonly DestinationNS?: string;
  readonly Action: 'allow' | 'deny';
  readonly Description?: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly datacenter: string;
  /** The proxy (service id) whose configuration is generated. */
  readonly proxy: string;
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  readonly nodes: readonly ScenarioNode[];
  /** Bodies of PUT /v1/config. */
  readonly configEntries: readonly Record<string, unknown>[];
  readonly intentions: readonly IntentionInput[];
  /** Overrides of the bootstrap options (e.g. a token, sotw). */
  readonly bootstrap?: Readonly<Record<string, unknown>>;
  /**
   * Other datacenters, each with the nodes of its mesh gateways: registered in that datacenter's
   * own catalog, whose federation state (its mesh gateways) the proxy's datacenter then holds.
   */
  readonly remoteDatacenters: readonly { readonly datacenter: string; readonly nodes: readonly ScenarioNode[] }[];
}

export function scenarioNames(): string[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(FIXTURES, e.name, 'scenario.json')))
    .map((e) => e.name)
    .sort();
}

export function loadScenario(name: string): Scenario {
  const raw = JSON.parse(readFileSync(join(FIXTURES, name, 'scenario.json'), 'utf8')) as Partial<Omit<Scenario, 'name'>>;
  if (!raw.proxy || !raw.nodes) throw new Error(`fixtures/${name}/scenario.json: "proxy" and "nodes" are required`);
  return {
    description: raw.description ?? '',
    datacenter: raw.datacenter ?? 'dc1',
    proxy: raw.proxy,
    defaultIntentionPolicy: raw.defaultIntentionPolicy ?? 'deny',
    nodes: raw.nodes,
    configEntries: raw.configEntries ?? [],
    intentions: raw.intentions ?? [],
    remoteDatacenters: raw.remoteDatacenters ?? [],
    ...(raw.bootstrap ? { bootstrap: raw.bootstrap } : {}),
    name,
  };
}
