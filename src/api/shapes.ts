// Catalog records as Consul's HTTP API renders them (AgentService, CatalogService, ...).
import { createHash } from 'node:crypto';
import type { CatalogNode, CheckServiceNode, ServiceInstance } from '../catalog/types.js';

/** A service's TaggedAddresses under `field`, left out when it has none (Consul's omitempty; older records have none). */
function tagged(field: string, s: ServiceInstance): Record<string, unknown> {
  return s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0 ? { [field]: s.TaggedAddresses } : {};
}

/** An AgentService: what /v1/agent/services and /v1/agent/service/:id return. */
export function agentService(s: ServiceInstance): Record<string, unknown> {
  return {
    ...(s.Kind ? { Kind: s.Kind } : {}),
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags,
    Meta: s.Meta,
    Port: s.Port,
    Address: s.Address,
    ...tagged('TaggedAddresses', s),
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: s.EnableTagOverride ?? false,
    ...(s.Locality ? { Locality: s.Locality } : {}),
    ...(s.Proxy ? { Proxy: s.Proxy } : {}),
    ...(s.Connect ? { Connect: s.Connect } : {}),
    Datacenter: s.Datacenter,
  };
}

/** A node's TaggedAddresses: as stored, or `lan` alone for a record stored before they were. */
function nodeTagged(n: CatalogNode): Readonly<Record<string, string>> {
  return n.TaggedAddresses ?? { lan: n.Address };
}

export function catalogNode(n: CatalogNode): Record<string, unknown> {
  return { ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: nodeTagged(n), Meta: n.Meta, ...(n.Locality ? { Locality: n.Locality } : {}), CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex };
}

/** A CatalogService: an element of /v1/catalog/service/:name. */
export function catalogService({ Node: n, Service: s }: CheckServiceNode): Record<string, unknown> {
  return {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: nodeTagged(n),
    NodeMeta: n.Meta,
    ServiceKind: s.Kind,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags,
    ServiceAddress: s.Address,
    ...tagged('ServiceTaggedAddresses', s),
    ServiceMeta: s.Meta,
    ServicePort: s.Port,
    ServiceWeights: { Passing: 1, Warning: 1 },
    ServiceEnableTagOverride: s.EnableTagOverride ?? false,
    ...(s.Locality ? { ServiceLocality: s.Locality } : {}),
    ServiceProxy: s.Proxy ?? {},
    ServiceConnect: s.Connect ?? {},
    Namespace: s.Namespace,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

/** An element of /v1/health/service/:name. */
export function healthEntry(c: CheckServiceNode): Record<string, unknown> {
  return {
    Node: catalogNode(c.Node),
    Service: { ...agentService(c.Service), Namespace: c.Service.Namespace, CreateIndex: c.Service.CreateIndex, ModifyIndex: c.Service.ModifyIndex },
    Checks: c.Checks.map((k) => ({ ...k, ServiceTags: c.Service.Tags, Namespace: c.Service.Namespace })),
  };
}

/**
 * A hash of an answer's content, in Consul's form (16 hex digits), for ContentHash and ?hash=
 * blocking. Consul hashes its internal Go struct (hashstructure), so the value differs from
 * Consul's for the same service; only its changing with the content matters to clients.
 */
export function contentHash(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}
