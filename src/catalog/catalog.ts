// The catalog: services, checks, nodes, config entries and intentions over the store. Writes
// validate first (nothing is stored when anything is wrong) and commit as one transaction;
// reads are watches (shared per query, re-run only when a table they read changes).
import type { z } from 'zod';
import { BehaviorSubject, distinctUntilChanged, map, Subject, type Observable } from 'rxjs';
import { isIP } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import { DEFAULT_NAMESPACE } from '../core/names.js';
import { CONSUL_API_VERSION, NODE_META_SEGMENT, NODE_META_VERSION } from './meta.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { consulDecode } from '../core/consul-decode.js';
import { parseInput, zodIssues } from '../core/validate.js';
import { SharedQueries } from '../store/shared.js';
import type { Indexed, ReadTx, Relevance, Store, TableName, WriteTx } from '../store/types.js';
import { checkEntryGraph } from './config/graph.js';
import { checkKind, validateConfigEntry, type ConfigKind, type EntryOf, type ValidEntry } from './config/kinds.js';
import { federationStateSchema, federationStateUpdateSchema, sameGateways, type WanAddress } from './federation.js';
import { decide, intentionsOf, sortIntentions, type DefaultPolicy, type IntentionWithPermissions } from './intentions/precedence.js';
import { legacyIntentionBody, serviceIntentionsSchema, type IntentionSource } from './intentions/schema.js';
import * as q from './queries.js';
import type { CheckWithTags } from './queries.js';
import { checkRecord, expandRegistration, type StoredCheck, type StoredService } from './services/register.js';
import { catalogDeregistrationSchema, catalogRegistrationSchema, serviceAsRegistration } from './services/catalog-register.js';
import { catalogServiceSchema, checkDefinition, registrationSchema } from './services/schema.js';
import type { CatalogNode, CheckServiceNode, ConfigEntry, ConfigEntryOf, FederationState, GatewayService, HealthCheck, HealthStatus, Indexes, IntentionDecision, ServiceInstance } from './types.js';

/** What a catalog (de)registration lets the API's ACL check see before it writes (what it throws aborts the write). */
export interface CatalogRegisterVet {
  node(node: string): void;
  service(service: Pick<StoredService, 'Service'> & Partial<StoredService>, replaced: StoredService | undefined): void;
}

export interface CatalogOptions {
  readonly datacenter: string;
  /** The agent's node: services registered through the agent API land on it. */
  readonly node: string;
  /** Decision when no intention matches; "allow" as Consul with ACLs disabled. */
  readonly defaultIntentionPolicy?: DefaultPolicy;
  readonly clock?: Clock;
  /**
   * Another datacenter's catalog, for what only it knows (the sidecars of its services, for an
   * upstream there with mesh gateway mode "none"). Without one, other datacenters' services have
   * no instances here.
   */
  readonly remote?: RemoteCatalog;
}

/** What this agent can ask of another datacenter (through the WAN link). */
export interface RemoteCatalog {
  /** The sidecars (and Connect-native instances) of `service` in `datacenter`, with checks, followed. */
  watchConnectHealth(datacenter: string, service: string): Observable<readonly CheckServiceNode[]>;
}

const NO_INSTANCES: Observable<readonly CheckServiceNode[]> = new BehaviorSubject<readonly CheckServiceNode[]>(Object.freeze([]));

/** Consul's agent node check. */
export const SERF_HEALTH_CHECK = 'serfHealth';
/** The service a Consul server registers for itself, and its RPC port. */
export const CONSUL_SERVICE = 'consul';
const CONSUL_SERVER_PORT = 8300;

/** Whether a record is the server's own (the `consul` service, the `serfHealth` check), not the agent's. */
const isServerService = (s: { readonly ID: string; readonly Service: string }) => s.ID === CONSUL_SERVICE && s.Service === CONSUL_SERVICE;
const isServerCheck = (c: { readonly CheckID: string }) => c.CheckID === SERF_HEALTH_CHECK;

const SERVICE_TABLES: TableName[] = ['services'];
const HEALTH_TABLES: TableName[] = ['nodes', 'services', 'checks'];
const CONFIG_TABLES: TableName[] = ['config_entries'];
const FEDERATION_TABLES: TableName[] = ['federation_states'];

export class Catalog {
  readonly datacenter: string;
  readonly node: string;
  private readonly policy: BehaviorSubject<DefaultPolicy>;
  private readonly shared = new SharedQueries();
  private readonly clock: Clock;
  private readonly checkUpdates = new Subject<string>();
  private readonly remote: RemoteCatalog | undefined;

  constructor(
    readonly store: Store,
    opts: CatalogOptions,
  ) {
    this.datacenter = opts.datacenter;
    this.node = opts.node;
    this.clock = opts.clock ?? systemClock;
    this.policy = new BehaviorSubject<DefaultPolicy>(opts.defaultIntentionPolicy ?? 'allow');
    this.remote = opts.remote;
  }

  // ---- nodes, services, checks -------------------------------------------------------------

  /**
   * Registers (or updates) the agent's node; keeps its ID across restarts. As a Consul agent
   * does, it tags the node's address as `lan` and `wan` (and per family) and adds the Meta keys
   * `consul-network-segment` (empty: the default segment) and `consul-version`.
   */
  async registerNode(address: string, nodeMeta: Record<string, string> = {}, id?: string): Promise<number> {
    const r = await this.store.write((tx) => {
      const before = tx.get<CatalogNode>('nodes', this.node)?.value;
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      const next: Omit<CatalogNode, 'CreateIndex' | 'ModifyIndex'> = {
        ID: before?.ID ?? id ?? crypto.randomUUID(),
        Node: this.node,
        Address: address,
        Datacenter: this.datacenter,
        TaggedAddresses: { lan: address, [`lan_${family}`]: address, wan: address, [`wan_${family}`]: address },
        Meta: { ...nodeMeta, [NODE_META_SEGMENT]: '', [NODE_META_VERSION]: CONSUL_API_VERSION },
      };
      if (JSON.stringify(before) === JSON.stringify(next)) return;
      tx.put('nodes', this.node, next);
    });
    return r.index;
  }

  /**
   * What a Consul server keeps in the catalog about itself, which Consul's clients and tests look
   * for: the node check `serfHealth` (passing while the agent runs; Switchyard has no gossip, so
   * the agent is alive when it answers and the check is written passing at startup) and the
   * service `consul` (the server's RPC port, 8300 as Consul's). Both are the server's, not the
   * agent's own: /v1/agent/services and /v1/agent/checks leave them out, as Consul's agent does.
   */
  async registerAgentHealth(): Promise<void> {
    await this.store.write((tx) => {
      const key = `${this.node}/${SERF_HEALTH_CHECK}`;
      if (tx.get<StoredCheck>('checks', key)?.value.Status !== 'passing') {
        tx.put('checks', key, { Node: this.node, CheckID: SERF_HEALTH_CHECK, Name: 'Serf Health Status', Status: 'passing', Notes: '', Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '', Type: '' } satisfies StoredCheck);
      }
      const service: StoredService = {
        ID: CONSUL_SERVICE,
        Service: CONSUL_SERVICE,
        Kind: '',
        Tags: [],
        Meta: { version: CONSUL_API_VERSION, raft_version: '3', serf_protocol_current: '2', serf_protocol_min: '1', serf_protocol_max: '5', non_voter: 'false', read_replica: 'false' },
        Address: '',
        Port: CONSUL_SERVER_PORT,
        Namespace: DEFAULT_NAMESPACE,
        Datacenter: this.datacenter,
        Node: this.node,
      };
      const skey = `${this.node}/${CONSUL_SERVICE}`;
      if (JSON.stringify(tx.get<StoredService>('services', skey)?.value) !== JSON.stringify(service)) tx.put('services', skey, service);
    });
  }

  /**
   * PUT /v1/agent/service/register: the service, its sidecar and their checks, in one transaction.
   * `vet` sees each service to be written, and the one of that ID it replaces, before anything is
   * (the API's ACL check); what it throws aborts the write.
   */
  async registerService(body: unknown, vet?: (service: StoredService, replaced: StoredService | undefined) => void): Promise<{ index: number; services: StoredService[] }> {
    const reg = parseInput(registrationSchema, consulDecode(registrationSchema, body ?? {}, { snakeCase: true }), 'invalid service registration');
    const r = await this.store.write((tx) => {
      const existing = new Map(tx.list<StoredService>('services', `${this.node}/`).map((row) => [row.value.ID, row.value]));
      const existingChecks = new Map(tx.list<StoredCheck>('checks', `${this.node}/`).map((row) => [row.value.CheckID, row.value]));
      const expanded = expandRegistration(reg, { node: this.node, datacenter: this.datacenter, existing, existingChecks });
      for (const s of expanded.services) vet?.(s, existing.get(s.ID));
      for (const s of expanded.services) {
        this.replaceChecks(tx, s.ID, expanded.checks.filter((c) => c.ServiceID === s.ID));
        tx.put('services', `${this.node}/${s.ID}`, s);
      }
      return expanded.services;
    });
    return { index: r.index, services: r.result };
  }

  /**
   * PUT /v1/agent/check/register: a check on this agent's node, of a service on it (`ServiceID`)
   * or of the node itself; its ID defaults to its Name, as in Consul. The agent runs it.
   */
  async registerCheck(body: unknown, vet?: (service: StoredService | undefined) => void): Promise<number> {
    const def = parseInput(checkDefinition, consulDecode(checkDefinition, body ?? {}), 'invalid check registration');
    if (!def.Name) throw ValidationError.of('Name', 'is required');
    const name = def.Name;
    const id = def.CheckID ?? def.ID ?? name;
    const r = await this.store.write((tx) => {
      const service = def.ServiceID === undefined ? undefined : tx.get<StoredService>('services', `${this.node}/${def.ServiceID}`)?.value;
      if (def.ServiceID !== undefined && !service) throw ValidationError.of('ServiceID', `"${def.ServiceID}" is not a service registered with this agent`);
      vet?.(service);
      const before = tx.get<StoredCheck>('checks', `${this.node}/${id}`)?.value;
      tx.put('checks', `${this.node}/${id}`, checkRecord(def, { id, name, service, node: this.node, before }));
    });
    return r.index;
  }

  /** PUT /v1/agent/check/deregister/:id (an unknown ID is a 404); `vet` sees the check first. */
  async deregisterCheck(id: string, vet?: (check: StoredCheck) => void): Promise<number> {
    const r = await this.store.write((tx) => {
      const check = tx.get<StoredCheck>('checks', `${this.node}/${id}`)?.value;
      if (check) vet?.(check);
      if (!tx.delete('checks', `${this.node}/${id}`)) throw new NotFoundError(`Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`);
    });
    return r.index;
  }

  private replaceChecks(tx: WriteTx, serviceId: string, next: readonly StoredCheck[]): void {
    for (const row of tx.list<StoredCheck>('checks', `${this.node}/`)) {
      if (row.value.ServiceID === serviceId && !next.some((c) => c.CheckID === row.value.CheckID)) tx.delete('checks', row.key);
    }
    for (const c of next) tx.put('checks', `${this.node}/${c.CheckID}`, c);
  }

  /**
   * PUT /v1/catalog/register: a node (any node: an external service, a node with no agent),
   * optionally a service on it (checked as an agent registration is) and checks with a status
   * (records: no agent runs them), in one transaction. On the agent's own node too, as Consul
   * allows (its agent API registrations are the usual way there).
   */
  async catalogRegister(body: unknown, vet?: CatalogRegisterVet): Promise<void> {
    const reg = parseInput(catalogRegistrationSchema, consulDecode(catalogRegistrationSchema, body ?? {}), 'invalid catalog registration');
    this.checkCatalogTarget(reg.Datacenter);
    const service = reg.Service && withPrefix('Service', () => parseInput(catalogServiceSchema, consulDecode(catalogServiceSchema, serviceAsRegistration(reg.Service ?? {}), { snakeCase: true })));
    if (service?.Connect?.SidecarService) throw ValidationError.of('Service.Connect.SidecarService', 'is only valid through the agent API (PUT /v1/agent/service/register)');
    await this.store.write((tx) => {
      const before = tx.get<CatalogNode>('nodes', reg.Node)?.value;
      // As Consul: SkipNodeUpdate leaves an existing node alone, and a node not yet registered is
      // created from what is given (a service registered before its node, with no Address and no
      // ID until the node's own registration brings them).
      if (!reg.SkipNodeUpdate || !before) {
        const node: Omit<CatalogNode, 'CreateIndex' | 'ModifyIndex'> = {
          ID: before?.ID || reg.ID || (reg.Address ? crypto.randomUUID() : ''),
          Node: reg.Node,
          Address: reg.Address ?? '',
          Datacenter: this.datacenter,
          TaggedAddresses: reg.TaggedAddresses ?? before?.TaggedAddresses ?? {},
          Meta: reg.NodeMeta ?? before?.Meta ?? {},
          ...(reg.Locality ? { Locality: reg.Locality } : {}),
        };
        // Consul's rule: re-posting a node unchanged (with a service update) needs no node:write.
        if (!before || before.ID !== node.ID || before.Address !== node.Address || JSON.stringify(before.Meta) !== JSON.stringify(node.Meta) || JSON.stringify(before.TaggedAddresses ?? {}) !== JSON.stringify(node.TaggedAddresses)) vet?.node(reg.Node);
        tx.put('nodes', reg.Node, node);
      }
      const existing = new Map(tx.list<StoredService>('services', `${reg.Node}/`).map((row) => [row.value.ID, row.value]));
      const existingChecks = new Map(tx.list<StoredCheck>('checks', `${reg.Node}/`).map((row) => [row.value.CheckID, row.value]));
      if (service) {
        for (const s of expandRegistration(service, { node: reg.Node, datacenter: this.datacenter, existing, existingChecks }).services) {
          vet?.service(s, existing.get(s.ID));
          tx.put('services', `${reg.Node}/${s.ID}`, s);
          existing.set(s.ID, s);
        }
      }
      for (const [i, c] of [...(reg.Check ? [reg.Check] : []), ...(reg.Checks ?? [])].entries()) {
        const at = reg.Check && i === 0 ? 'Check' : 'Checks';
        const owner = c.ServiceID === undefined || c.ServiceID === '' ? undefined : existing.get(c.ServiceID);
        if (c.ServiceID && !owner) throw ValidationError.of(`${at}.ServiceID`, `"${c.ServiceID}" is not a service on node "${reg.Node}"`);
        if (owner) vet?.service(owner, undefined);
        else vet?.node(reg.Node);
        const id = c.CheckID ?? c.ID ?? c.Name;
        const prior = existingChecks.get(id);
        tx.put('checks', `${reg.Node}/${id}`, {
          Node: reg.Node,
          CheckID: id,
          Name: c.Name,
          Status: c.Status ?? prior?.Status ?? 'critical',
          Notes: c.Notes ?? '',
          Output: c.Output ?? '',
          ServiceID: owner?.ID ?? '',
          ServiceName: owner?.Service ?? '',
          Type: '',
        } satisfies StoredCheck);
      }
    });
  }

  /** PUT /v1/catalog/deregister: a service (and its checks), a check, or the whole node. */
  async catalogDeregister(body: unknown, vet?: CatalogRegisterVet): Promise<void> {
    const d = parseInput(catalogDeregistrationSchema, consulDecode(catalogDeregistrationSchema, body ?? {}), 'invalid catalog deregistration');
    this.checkCatalogTarget(d.Datacenter);
    await this.store.write((tx) => {
      const prefix = `${d.Node}/`;
      const drop = (table: TableName, keep: (key: string, value: { ServiceID?: string }) => boolean) => {
        for (const row of tx.list<{ ServiceID?: string }>(table, prefix)) if (!keep(row.key, row.value)) tx.delete(table, row.key);
      };
      const service = d.ServiceID === undefined ? undefined : tx.get<StoredService>('services', `${prefix}${d.ServiceID}`)?.value;
      const check = d.CheckID === undefined ? undefined : tx.get<StoredCheck>('checks', `${prefix}${d.CheckID}`)?.value;
      // Consul's rule: a service (or a service's check) needs service:write on it, the node or a node check node:write.
      if (service) vet?.service(service, undefined);
      else if (check?.ServiceName) vet?.service({ Service: check.ServiceName }, undefined);
      else vet?.node(d.Node);
      if (d.ServiceID !== undefined) {
        tx.delete('services', `${prefix}${d.ServiceID}`);
        drop('checks', (_k, c) => c.ServiceID !== d.ServiceID);
      } else if (d.CheckID !== undefined) {
        tx.delete('checks', `${prefix}${d.CheckID}`);
      } else {
        drop('services', () => false);
        drop('checks', () => false);
        tx.delete('nodes', d.Node);
      }
    });
  }

  private checkCatalogTarget(datacenter: string | undefined): void {
    if (datacenter && datacenter !== this.datacenter) throw ValidationError.of('Datacenter', `this agent writes datacenter "${this.datacenter}" only, not "${datacenter}"`);
  }

  /** PUT /v1/agent/service/deregister/:id: also removes the sidecar registered with it. */
  async deregisterService(id: string, vet?: (service: StoredService) => void): Promise<number> {
    const r = await this.store.write((tx) => {
      const row = tx.get<StoredService>('services', `${this.node}/${id}`);
      if (!row) throw new NotFoundError(`Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
      vet?.(row.value);
      const ids = [id];
      for (const s of tx.list<StoredService>('services', `${this.node}/`)) {
        if (s.value.Kind === 'connect-proxy' && s.value.Proxy?.DestinationServiceID === id && s.value.ID === `${id}-sidecar-proxy`) ids.push(s.value.ID);
      }
      for (const sid of ids) {
        tx.delete('services', `${this.node}/${sid}`);
        this.replaceChecks(tx, sid, []);
      }
    });
    return r.index;
  }

  /**
   * Sets a check's status (TTL updates and the agent's check runner). Unchanged status and output
   * write nothing. `ttlOnly` (the HTTP API's updates) refuses checks the agent probes itself, as
   * Consul does: their status is the probe's.
   */
  async updateCheck(checkId: string, status: HealthStatus, output?: string, opts: { ttlOnly?: boolean; vet?: (check: StoredCheck) => void } = {}): Promise<number> {
    const r = await this.store.write((tx) => {
      const row = tx.get<StoredCheck>('checks', `${this.node}/${checkId}`);
      if (!row) throw new NotFoundError(`Unknown check ID "${checkId}"`);
      opts.vet?.(row.value);
      if (opts.ttlOnly && row.value.Type !== 'ttl') {
        throw ValidationError.of('CheckID', `"${checkId}" is a ${row.value.Type} check, whose status comes from the agent's probe; only TTL checks take status updates`);
      }
      const nextOutput = output ?? row.value.Output;
      if (row.value.Status === status && row.value.Output === nextOutput) return;
      tx.put('checks', row.key, { ...row.value, Status: status, Output: nextOutput });
    });
    this.checkUpdates.next(checkId);
    return r.index;
  }

  /**
   * The ID of every check updated through updateCheck, written or not: a TTL heartbeat that
   * changes nothing in the catalog must still restart the check's TTL.
   */
  watchCheckUpdates(): Observable<string> {
    return this.checkUpdates.asObservable();
  }

  // ---- config entries ----------------------------------------------------------------------

  /** PUT /v1/config. With `cas`, writes only when the entry's ModifyIndex is `cas` (0: absent). */
  async setConfigEntry(body: unknown, cas?: number, vet?: (entry: { readonly Kind: ConfigKind; readonly Name: string }) => void): Promise<boolean> {
    const entry = validateConfigEntry(body);
    vet?.(entry);
    const r = await this.store.write((tx) => {
      const key = `${entry.Kind}/${entry.Name}`;
      if (cas !== undefined && (tx.get('config_entries', key)?.modifyIndex ?? 0) !== cas) return false;
      tx.put('config_entries', key, entry);
      checkEntryGraph(tx, entry.Kind, entry.Name, this.datacenter);
      return true;
    });
    return r.result;
  }

  async deleteConfigEntry(kind: string, name: string, cas?: number): Promise<boolean> {
    checkKind(kind, 'kind');
    const r = await this.store.write((tx) => {
      const key = `${kind}/${name}`;
      const row = tx.get('config_entries', key);
      if (cas !== undefined && (row?.modifyIndex ?? 0) !== cas) return false;
      tx.delete('config_entries', key);
      checkEntryGraph(tx, kind, name, this.datacenter);
      return true;
    });
    return r.result;
  }

  // ---- legacy intentions API ---------------------------------------------------------------

  /**
   * PUT /v1/connect/intentions/exact: creates or updates one source in the destination's entry.
   * With `createId` (POST /v1/connect/intentions) it only creates, under that legacy ID, and
   * refuses an intention that exists already, as Consul does.
   */
  async putIntention(source: string, destination: string, body: unknown, opts: { readonly createId?: string } = {}): Promise<void> {
    const input = parseInput(legacyIntentionBody, consulDecode(legacyIntentionBody, body ?? {}), 'invalid intention');
    for (const [field, given, expected] of [['SourceName', input.SourceName, source], ['DestinationName', input.DestinationName, destination]] as const) {
      if (given !== undefined && given !== expected) throw ValidationError.of(field, `"${given}" differs from the intention's "${expected}" (delete it and create another to change it)`);
    }
    await this.store.write((tx) => this.putIntentionSource(tx, source, destination, input, { id: opts.createId, refuseExisting: opts.createId !== undefined }));
  }

  /**
   * PUT /v1/connect/intentions/:id (the legacy update): the intention with that ID takes the
   * body's source, destination, action, description and meta, keeping its ID and creation time.
   * False when no intention has the ID. `vet` sees the destination it is written to (what it
   * throws aborts the write).
   */
  async updateIntention(id: string, body: unknown, vet?: (destination: string) => void): Promise<boolean> {
    const input = parseInput(legacyIntentionBody, consulDecode(legacyIntentionBody, body ?? {}), 'invalid intention');
    const r = await this.store.write((tx) => {
      const found = q.intentionEntries(tx).flatMap(intentionsOf).find((i) => i.ID === id);
      if (!found) return false;
      const source = input.SourceName ?? found.SourceName;
      const destination = input.DestinationName ?? found.DestinationName;
      vet?.(destination);
      const createdAt = tx.get<ConfigEntryOf<'service-intentions'>>('config_entries', `service-intentions/${found.DestinationName}`)?.value.Sources?.find((s) => s.Name === found.SourceName)?.LegacyCreateTime;
      const moved = source !== found.SourceName || destination !== found.DestinationName;
      // Written before the old pair goes, so an entry keeping a source is updated, not recreated.
      this.putIntentionSource(tx, source, destination, input, { id, refuseExisting: moved, createdAt });
      if (moved) this.removeIntentionSource(tx, found.SourceName, found.DestinationName);
      return true;
    });
    return r.result;
  }

  private putIntentionSource(
    tx: WriteTx,
    source: string,
    destination: string,
    input: z.output<typeof legacyIntentionBody>,
    opts: { readonly id?: string; readonly refuseExisting: boolean; readonly createdAt?: string },
  ): void {
    const key = `service-intentions/${destination}`;
    const entry: EntryOf<'service-intentions'> = tx.get<ConfigEntryOf<'service-intentions'>>('config_entries', key)?.value ?? { Kind: 'service-intentions', Name: destination };
    const sources: IntentionSource[] = (entry.Sources ?? []).filter((s) => s.Name !== source);
    const prior = (entry.Sources ?? []).find((s) => s.Name === source);
    if (prior && opts.refuseExisting) throw new ConflictError(`duplicate intention found: ${source} => ${destination}`);
    const now = new Date(this.clock.now()).toISOString();
    sources.push({
      Name: source,
      Action: input.Action,
      Type: 'consul',
      Description: input.Description ?? '',
      LegacyMeta: input.Meta ?? {},
      ...(prior?.LegacyID ? { LegacyID: prior.LegacyID } : opts.id !== undefined ? { LegacyID: opts.id } : {}),
      LegacyCreateTime: prior?.LegacyCreateTime ?? opts.createdAt ?? now,
      LegacyUpdateTime: now,
    });
    const next = parseInput(serviceIntentionsSchema, { ...entry, CreateIndex: undefined, ModifyIndex: undefined, Sources: sources }, 'invalid intention');
    tx.put('config_entries', key, next);
  }

  private removeIntentionSource(tx: WriteTx, source: string, destination: string): boolean {
    const key = `service-intentions/${destination}`;
    const entry = tx.get<ConfigEntryOf<'service-intentions'>>('config_entries', key)?.value;
    const sources = entry?.Sources ?? [];
    if (!entry || !sources.some((s) => s.Name === source)) return false;
    const rest = sources.filter((s) => s.Name !== source);
    if (rest.length === 0) tx.delete('config_entries', key);
    else tx.put('config_entries', key, { ...entry, Sources: rest });
    return true;
  }

  /** DELETE /v1/connect/intentions/exact; the entry goes when its last source does. */
  async deleteIntention(source: string, destination: string): Promise<boolean> {
    const r = await this.store.write((tx) => this.removeIntentionSource(tx, source, destination));
    return r.result;
  }

  /** The decision for source -> destination (used by /v1/connect/intentions/check and the CA's authorize). */
  check(source: string, destination: string): IntentionDecision {
    return decide(this.store.read((tx) => intentionsFor(tx, destination)), source, destination, this.policy.value);
  }

  setDefaultIntentionPolicy(policy: DefaultPolicy): void {
    this.policy.next(policy);
  }

  // ---- indexed reads (blocking queries) ----------------------------------------------------

  query<T>(key: string, tables: readonly TableName[], fn: (tx: ReadTx) => T, relevant?: Relevance): Observable<Indexed<T>> {
    return this.store.watch(key, tables, fn, relevant);
  }

  agentServices(): Observable<Indexed<ServiceInstance[]>> {
    return this.query(`agent-services:${this.node}`, SERVICE_TABLES, (tx) => q.nodeServices(tx, this.node).filter((s) => !isServerService(s)));
  }

  agentChecks(): Observable<Indexed<HealthCheck[]>> {
    return this.query(`agent-checks:${this.node}`, ['checks'], (tx) => q.checks(tx, this.node).filter((c) => !isServerCheck(c)));
  }

  service(id: string): Observable<Indexed<ServiceInstance | undefined>> {
    return this.query(`service:${this.node}/${id}`, SERVICE_TABLES, (tx) => [q.serviceById(tx, this.node, id)].find((s) => s && !isServerService(s)), q.keysRelevance('services', `${this.node}/${id}`));
  }

  catalogServices(): Observable<Indexed<Record<string, string[]>>> {
    return this.query('catalog-services', SERVICE_TABLES, q.serviceTags);
  }

  /** The instances of a service with their nodes (`connect`: its sidecars and Connect-native instances). */
  serviceNodes(name: string, opts: { readonly connect?: boolean } = {}): Observable<Indexed<CheckServiceNode[]>> {
    const connect = opts.connect ?? false;
    return this.query(`service-nodes:${connect ? 'connect' : 'service'}:${name}`, ['nodes', 'services'], (tx) => q.serviceHealth(tx, name, { connect }).map((c) => ({ ...c, Checks: [] })), q.serviceHealthRelevance(name, connect));
  }

  /** Every service instance with its node (what `/v1/catalog/services?filter=` filters). */
  allServiceNodes(): Observable<Indexed<CheckServiceNode[]>> {
    return this.query('all-service-nodes', ['nodes', 'services'], q.allServiceNodes);
  }

  /**
   * The services a gateway routes to, from its ingress-gateway or terminating-gateway entry
   * (`/v1/catalog/gateway-services/:gateway`), in Consul's GatewayService shape: listed services
   * first, then those a wildcard `*` brings (every typical service not listed), by name.
   */
  gatewayServices(gateway: string): Observable<Indexed<GatewayService[]>> {
    return this.query(`gateway-services:${gateway}`, ['config_entries', 'services'], (tx) => {
      const names = () => [...new Set(q.allServices(tx).filter((s) => s.Kind === '' && !(s.Node === this.node && isServerService(s))).map((s) => s.Service))].sort();
      const ingress = q.configEntry(tx, 'ingress-gateway', gateway) as ConfigEntryOf<'ingress-gateway'> | undefined;
      const terminating = q.configEntry(tx, 'terminating-gateway', gateway) as ConfigEntryOf<'terminating-gateway'> | undefined;
      const out: GatewayService[] = [];
      const base = (name: string, kind: GatewayService['GatewayKind']) => ({ Gateway: { Name: gateway }, Service: { Name: name }, GatewayKind: kind });
      for (const l of ingress?.Listeners ?? []) {
        const proto = l.Protocol || 'tcp';
        const listed = (l.Services ?? []).filter((s) => s.Name !== '*');
        for (const s of listed) out.push({ ...base(s.Name, 'ingress-gateway'), Port: l.Port, Protocol: proto, ...(s.Hosts?.length ? { Hosts: s.Hosts } : {}) });
        if ((l.Services ?? []).some((s) => s.Name === '*')) {
          for (const n of names().filter((n) => !listed.some((s) => s.Name === n))) out.push({ ...base(n, 'ingress-gateway'), Port: l.Port, Protocol: proto, FromWildcard: true });
        }
      }
      const linked = terminating?.Services ?? [];
      const files = (s: (typeof linked)[number]) => ({ ...(s.CAFile ? { CAFile: s.CAFile } : {}), ...(s.CertFile ? { CertFile: s.CertFile } : {}), ...(s.KeyFile ? { KeyFile: s.KeyFile } : {}), ...(s.SNI ? { SNI: s.SNI } : {}) });
      const explicit = linked.filter((s) => s.Name !== '*');
      for (const s of [...explicit].sort((a, b) => (a.Name < b.Name ? -1 : 1))) out.push({ ...base(s.Name, 'terminating-gateway'), ...files(s) });
      const wildcard = linked.find((s) => s.Name === '*');
      if (wildcard) for (const n of names().filter((n) => n !== gateway && !explicit.some((s) => s.Name === n))) out.push({ ...base(n, 'terminating-gateway'), ...files(wildcard), FromWildcard: true });
      return out;
    });
  }

  /** The ingress gateways' instances whose ingress-gateway entry routes to `service` (`/v1/health/ingress/:service`). */
  ingressHealth(service: string, opts: { readonly passing?: boolean } = {}): Observable<Indexed<CheckServiceNode[]>> {
    return this.query(`ingress-health:${opts.passing ? 'passing' : 'any'}:${service}`, [...HEALTH_TABLES, 'config_entries'], (tx) =>
      (q.configEntries(tx, 'ingress-gateway') as ConfigEntryOf<'ingress-gateway'>[])
        .filter((e) => (e.Listeners ?? []).some((l) => (l.Services ?? []).some((s) => s.Name === service || s.Name === '*')))
        .flatMap((e) => q.serviceHealth(tx, e.Name, { passing: opts.passing ?? false }).filter((c) => c.Service.Kind === 'ingress-gateway')),
    );
  }

  /** The checks of a service's instances, with their tags (`/v1/health/checks/:service`). */
  serviceChecks(name: string): Observable<Indexed<CheckWithTags[]>> {
    return this.query(`service-checks:${name}`, HEALTH_TABLES, (tx) => q.checksWithTags(tx, q.checks(tx).filter((c) => c.ServiceName === name)), q.serviceHealthRelevance(name, false));
  }

  /** A node and the services registered on it (`node` undefined when there is no such node). */
  nodeServices(node: string): Observable<Indexed<{ readonly node: CatalogNode | undefined; readonly services: ServiceInstance[] }>> {
    return this.query(`node-services:${node}`, ['nodes', 'services'], (tx) => ({ node: q.nodes(tx).find((n) => n.Node === node), services: q.nodeServices(tx, node) }));
  }

  /** Every check of a node, with the tags of the service each belongs to. */
  nodeChecks(node: string): Observable<Indexed<CheckWithTags[]>> {
    return this.query(`node-checks:${node}`, HEALTH_TABLES, (tx) => q.checksWithTags(tx, q.checks(tx, node)));
  }

  /** Every check in `state` (`any`: all of them), with the tags of their services. */
  checksInState(state: HealthStatus | 'any'): Observable<Indexed<CheckWithTags[]>> {
    return this.query(`checks-in-state:${state}`, HEALTH_TABLES, (tx) => q.checksWithTags(tx, q.checks(tx).filter((c) => state === 'any' || c.Status === state)));
  }

  nodes(): Observable<Indexed<CatalogNode[]>> {
    return this.query('nodes', ['nodes'], q.nodes);
  }

  health(name: string, filter: q.HealthFilter = {}): Observable<Indexed<CheckServiceNode[]>> {
    // Unambiguous: no tag and the empty tag differ, and a tag or name may contain ":".
    const key = `health:${JSON.stringify([filter.connect ? 'connect' : 'service', filter.passing ? 'passing' : 'any', filter.tags ?? null, name])}`;
    return this.query(key, HEALTH_TABLES, (tx) => q.serviceHealth(tx, name, filter), q.serviceHealthRelevance(name, filter.connect ?? false));
  }

  configEntry(kind: string, name: string): Observable<Indexed<ConfigEntry | undefined>> {
    return this.query(`config:${kind}/${name}`, CONFIG_TABLES, (tx) => q.configEntry(tx, kind, name), q.keysRelevance('config_entries', `${kind}/${name}`));
  }

  configEntries(kind: string): Observable<Indexed<ConfigEntry[]>> {
    return this.query(`config:${kind}/`, CONFIG_TABLES, (tx) => q.configEntries(tx, kind), q.prefixRelevance('config_entries', `${kind}/`));
  }

  intentions(): Observable<Indexed<IntentionWithPermissions[]>> {
    return this.query('intentions', CONFIG_TABLES, (tx) => sortIntentions(q.intentionEntries(tx).flatMap(intentionsOf)), q.prefixRelevance('config_entries', 'service-intentions/'));
  }

  intentionsTo(destination: string): Observable<Indexed<IntentionWithPermissions[]>> {
    return this.query(`intentions-to:${destination}`, CONFIG_TABLES, (tx) => intentionsFor(tx, destination), q.keysRelevance('config_entries', `service-intentions/${destination}`, 'service-intentions/*'));
  }

  // ---- what the proxy layer watches (CatalogSource) ----------------------------------------

  private values<T>(key: string, source: () => Observable<Indexed<T>>): Observable<T> {
    return this.shared.get(key, () => source().pipe(map((v) => v.value)));
  }

  watchProxies(): Observable<readonly ServiceInstance[]> {
    return this.values('proxies', () => this.query('proxies', SERVICE_TABLES, (tx) => q.allServices(tx).filter((s) => s.Kind !== '')));
  }

  watchService(serviceId: string): Observable<ServiceInstance | undefined> {
    return this.values(`service:${serviceId}`, () => this.service(serviceId));
  }

  watchConnectHealth(service: string): Observable<readonly CheckServiceNode[]> {
    return this.values(`connect:${service}`, () => this.health(service, { connect: true }));
  }

  watchIntentions(destination: string): Observable<readonly IntentionWithPermissions[]> {
    return this.values(`intentions:${destination}`, () => this.intentionsTo(destination));
  }

  watchDefaultIntentionPolicy(): Observable<'allow' | 'deny'> {
    return this.shared.get('default-policy', () => this.policy.pipe(distinctUntilChanged()));
  }

  watchConfigEntry<K extends ConfigKind>(kind: K, name: string): Observable<ConfigEntryOf<K> | undefined> {
    // The store holds what the kind's schema accepted, under the kind's key.
    return this.values(`config:${kind}/${name}`, () => this.configEntry(kind, name)) as Observable<ConfigEntryOf<K> | undefined>;
  }

  /** A service's sidecars in another datacenter, as that datacenter answers (none without a link to it). */
  watchRemoteConnectHealth(datacenter: string, service: string): Observable<readonly CheckServiceNode[]> {
    if (datacenter === this.datacenter) return this.watchConnectHealth(service);
    const remote = this.remote;
    return remote ? this.shared.get(`remote-connect:${datacenter}/${service}`, () => remote.watchConnectHealth(datacenter, service)) : NO_INSTANCES;
  }

  /** This datacenter's mesh gateways with their checks. */
  watchMeshGateways(): Observable<readonly CheckServiceNode[]> {
    return this.values('mesh-gateways', () => this.query('mesh-gateways', HEALTH_TABLES, (tx) => q.kindHealth(tx, 'mesh-gateway'), q.kindHealthRelevance('mesh-gateway')));
  }

  /** This datacenter's terminating gateways with their checks. */
  watchTerminatingGateways(): Observable<readonly CheckServiceNode[]> {
    return this.values('terminating-gateways', () =>
      this.query('terminating-gateways', HEALTH_TABLES, (tx) => q.kindHealth(tx, 'terminating-gateway'), q.kindHealthRelevance('terminating-gateway')),
    );
  }

  /** Every check on a node, whatever its service (the statuses change it too: callers narrow). */
  watchNodeChecks(node: string): Observable<readonly HealthCheck[]> {
    return this.values(`node-checks:${node}`, () => this.query(`node-check-list:${node}`, ['checks'], (tx) => q.checks(tx, node)));
  }

  /** What every datacenter (this one included, once it has published it) has told of itself, by datacenter. */
  watchFederationStates(): Observable<readonly FederationState[]> {
    return this.values('federation-states', () => this.federationStates());
  }

  // ---- federation states ------------------------------------------------------------------

  federationStates(): Observable<Indexed<FederationState[]>> {
    return this.query('federation-states', FEDERATION_TABLES, (tx) => tx.list<FederationState>('federation_states').map((r) => r.value));
  }

  /** Stores what a datacenter tells of itself, replacing what it told before. */
  async putFederationState(state: FederationState): Promise<void> {
    await this.store.write((tx) => tx.put('federation_states', state.Datacenter, state));
  }

  /** The states with their indexes, as `GET /v1/internal/federation-states` shows them. */
  federationStatesIndexed(): Observable<Indexed<(FederationState & Indexes)[]>> {
    return this.query('federation-states-indexed', FEDERATION_TABLES, (tx) => tx.list<FederationState>('federation_states').map(q.withIndexes));
  }

  federationState(datacenter: string): Observable<Indexed<(FederationState & Indexes) | undefined>> {
    return this.query(`federation-state:${datacenter}`, FEDERATION_TABLES, (tx) => {
      const row = tx.get<FederationState>('federation_states', datacenter);
      return row && q.withIndexes(row);
    }, q.keysRelevance('federation_states', datacenter));
  }

  /**
   * Publishes this datacenter's own state when its mesh gateways (checks included) differ from
   * what is stored, stamped `now`; returns the state written, or undefined when nothing changed.
   * With `skipEmpty`, a datacenter that never had a state and has no gateway writes none (a lone
   * primary has nothing to tell anyone).
   */
  async publishFederationState(gateways: readonly CheckServiceNode[], opts: { readonly skipEmpty?: boolean } = {}): Promise<FederationState | undefined> {
    const r = await this.store.write((tx) => {
      const before = tx.get<FederationState>('federation_states', this.datacenter)?.value;
      if (sameGateways(before, gateways) || (opts.skipEmpty && !before && gateways.length === 0)) return undefined;
      const state: FederationState = { Datacenter: this.datacenter, MeshGateways: gateways, UpdatedAt: new Date(this.clock.now()).toISOString() };
      tx.put('federation_states', this.datacenter, state);
      return state;
    });
    return r.result;
  }

  /**
   * On the primary: a secondary's `PUT /v1/internal/federation-state/:dc`, checked strictly (the
   * state must be of `datacenter`, which is not this one, and its gateways must be in it); the
   * state and the secondary's HTTP address are stored in one write.
   */
  async receiveFederationState(datacenter: string, body: unknown): Promise<void> {
    const update = parseInput(federationStateUpdateSchema, body ?? {}, 'invalid federation state');
    const state = update.State as FederationState;
    if (datacenter === this.datacenter) throw ValidationError.of('datacenter', `"${datacenter}" is this (the primary) datacenter, whose state only it publishes`);
    if (state.Datacenter !== datacenter) throw ValidationError.of('State.Datacenter', `"${state.Datacenter}" differs from the datacenter in the path, "${datacenter}"`);
    state.MeshGateways.forEach((g, i) => {
      if (g.Service.Datacenter !== datacenter) throw ValidationError.of(`State.MeshGateways[${i}].Service.Datacenter`, `"${g.Service.Datacenter}" is not the datacenter "${datacenter}" the state is of`);
    });
    const address: WanAddress = { Datacenter: datacenter, HTTPAddress: update.HTTPAddress, UpdatedAt: state.UpdatedAt };
    await this.store.write((tx) => {
      const before = tx.get<FederationState>('federation_states', datacenter)?.value;
      if (!before || JSON.stringify(before) !== JSON.stringify(state)) tx.put('federation_states', datacenter, state);
      const known = tx.get<WanAddress>('wan_addresses', datacenter)?.value;
      if (known?.HTTPAddress !== address.HTTPAddress) tx.put('wan_addresses', datacenter, address);
    });
  }

  /** The HTTP address of every secondary that has told it (on the primary), by datacenter. */
  wanAddresses(): WanAddress[] {
    return this.store.read((tx) => tx.list<WanAddress>('wan_addresses').map((r) => r.value));
  }

  // ---- replication from the primary (on a secondary) ----------------------------------------

  /**
   * The index of the last change to config entries (and intentions): what the replication
   * endpoint answers with, so a secondary can tell when a write made here has reached it.
   */
  configIndex(): number {
    return Math.max(1, this.store.read((tx) => tx.tableIndex('config_entries')));
  }

  /** Every config entry of every kind (intentions included), for the replication endpoint. */
  allConfigEntries(): Observable<Indexed<ConfigEntry[]>> {
    return this.query('config:*', CONFIG_TABLES, (tx) => tx.list<ConfigEntry>('config_entries').map(q.withIndexes) as ConfigEntry[]);
  }

  /**
   * Makes this datacenter's config entries the primary's `entries`, in one write: adds, updates
   * and deletes. An entry this agent's schemas refuse (a primary of another version) is left
   * out and reported, and the local copy under its key is kept as it is.
   */
  async replicateConfigEntries(entries: readonly unknown[]): Promise<ReplicationResult> {
    const wanted = new Map<string, ValidEntry>();
    const kept = new Set<string>();
    const refused: string[] = [];
    for (const raw of entries) {
      const { Kind, Name } = (raw ?? {}) as { Kind?: unknown; Name?: unknown };
      const key = `${String(Kind)}/${String(Name)}`;
      try {
        wanted.set(key, validateConfigEntry(raw));
      } catch (err) {
        kept.add(key);
        refused.push(`${key}: ${(err as Error).message}`);
      }
    }
    const r = await this.store.write((tx) => applyDiff(tx, 'config_entries', wanted, (key) => kept.has(key)));
    return { ...r.result, refused };
  }

  /**
   * Makes the other datacenters' states the primary's `states` (this datacenter's own is this
   * agent's to publish and is kept), in one write; a state that is not well-formed is left out
   * and reported.
   */
  async replicateFederationStates(states: readonly unknown[]): Promise<ReplicationResult> {
    const wanted = new Map<string, FederationState>();
    const refused: string[] = [];
    for (const raw of states) {
      const { CreateIndex: _c, ModifyIndex: _m, PrimaryModifyIndex: _p, ...rest } = (raw ?? {}) as Record<string, unknown>;
      const r = federationStateSchema.safeParse(rest);
      if (!r.success) refused.push(`${String(rest.Datacenter)}: ${zodIssues(r.error.issues).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      else if (r.data.Datacenter !== this.datacenter) wanted.set(r.data.Datacenter, r.data as FederationState);
    }
    const r = await this.store.write((tx) => applyDiff(tx, 'federation_states', wanted, (dc) => dc === this.datacenter));
    return { ...r.result, refused };
  }

  // ---- what proxyless gRPC clients need ---------------------------------------------------

  /** Names of services with typical (non-proxy, non-gateway) instances, sorted. */
  watchServiceNames(): Observable<readonly string[]> {
    // The server's own `consul` service is no mesh service: no proxy or gateway routes to it.
    return this.values('service-names', () => this.query('service-names', SERVICE_TABLES, (tx) => [...new Set(q.allServices(tx).filter((s) => s.Kind === '' && !(s.Node === this.node && isServerService(s))).map((s) => s.Service))].sort()));
  }

  /** A service's own instances with their checks (what /v1/health/service/:name answers). */
  watchServiceHealth(service: string): Observable<readonly CheckServiceNode[]> {
    return this.values(`health:${service}`, () => this.health(service));
  }
}

/** What one replication round changed in the secondary's store. */
export interface ReplicationResult {
  readonly added: number;
  readonly updated: number;
  readonly deleted: number;
  /** Records left out, each with why (`kind/name: reason`). */
  readonly refused: readonly string[];
}

/** Intentions that apply to a destination: its own and the wildcard's, highest precedence first. */
export function intentionsFor(tx: ReadTx, destination: string): IntentionWithPermissions[] {
  const entries = [q.configEntry(tx, 'service-intentions', destination), destination === '*' ? undefined : q.configEntry(tx, 'service-intentions', '*')];
  return sortIntentions(entries.filter((e) => e !== undefined).flatMap((e) => intentionsOf(e as unknown as Parameters<typeof intentionsOf>[0])));
}

/** Runs `parse` with every issue it raises placed under `prefix` (a nested part of a body). */
function withPrefix<T>(prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(err.issues.map((i) => ({ ...i, path: i.path ? (i.path.startsWith('[') ? `${prefix}${i.path}` : `${prefix}.${i.path}`) : prefix })), 'invalid catalog registration');
  }
}

/**
 * Makes `table` hold `wanted` (a replicated copy) in one transaction: rows not wanted are deleted
 * unless `keep` says otherwise, changed rows are replaced, equal ones left alone.
 */
function applyDiff(tx: WriteTx, table: TableName, wanted: ReadonlyMap<string, unknown>, keep: (key: string) => boolean): { added: number; updated: number; deleted: number } {
  const counts = { added: 0, updated: 0, deleted: 0 };
  for (const row of tx.list(table)) {
    if (!wanted.has(row.key) && !keep(row.key) && tx.delete(table, row.key)) counts.deleted++;
  }
  for (const [key, value] of wanted) {
    const before = tx.get(table, key);
    if (before && JSON.stringify(before.value) === JSON.stringify(value)) continue;
    if (before) counts.updated++;
    else counts.added++;
    tx.put(table, key, value);
  }
  return counts;
}
