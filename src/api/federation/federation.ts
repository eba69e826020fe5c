// This agent's place among federated datacenters. Every agent publishes its own datacenter's
// federation state (its mesh gateways) into its own table. A secondary also follows the primary
// over the WAN link: its config entries (intentions included) and its federation states (every
// datacenter's) are applied here, each change as one store write, and its own state is sent to
// the primary whenever it changes or the primary's copy differs (a primary that lost it).
import { concatMap, type Subscription } from 'rxjs';
import type { Catalog } from '../../catalog/catalog.js';
import type { FederationState } from '../../catalog/types.js';
import { errorMessage } from '../../core/errors.js';
import { nullLogger, type Logger } from '../../core/logger.js';
import type { WanLink, WanLinkStatus } from './wan-link.js';

/** The primary's replication endpoint: every config entry of every kind, blocking on `index`. */
export const REPLICATION_PATH = '/v1/internal/replication/config-entries';
export const FEDERATION_STATES_PATH = '/v1/internal/federation-states';

export interface FederationOptions {
  readonly catalog: Catalog;
  readonly primaryDatacenter: string;
  /** The link to the primary; required on a secondary, absent on the primary. */
  readonly link?: WanLink;
  /** Where this agent's HTTP API is reached (sent to the primary, which forwards `?dc=` reads to it). */
  readonly httpAddress: () => string;
  readonly logger?: Logger;
}

/** Where a request for another datacenter goes: through the link to the primary, or straight to an agent. */
export type DatacenterRoute = { readonly via: 'primary'; readonly link: WanLink } | { readonly via: 'address'; readonly address: string };

export interface FederationStatus {
  readonly Datacenter: string;
  readonly PrimaryDatacenter: string;
  readonly Primary: boolean;
  /** A secondary's link to the primary (null on the primary). */
  readonly Link: WanLinkStatus | null;
  /** On the primary: each secondary's HTTP address as it told it. */
  readonly Secondaries: readonly { readonly Datacenter: string; readonly HTTPAddress: string; readonly UpdatedAt: string }[];
  /** Every known datacenter's state: when it was sent, how many mesh gateways it lists. */
  readonly FederationStates: readonly { readonly Datacenter: string; readonly UpdatedAt: string; readonly MeshGateways: number }[];
  /** The last replication round's refusals (records this agent could not take), if any. */
  readonly Refused: readonly string[];
}

export class Federation {
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  private readonly catalog: Catalog;
  private readonly logger: Logger;
  private readonly stop = new AbortController();
  private readonly subs: Subscription[] = [];
  private refused: readonly string[] = [];
  private pushing: Promise<void> | undefined;
  private pushAgain = false;

  constructor(private readonly opts: FederationOptions) {
    this.catalog = opts.catalog;
    this.datacenter = opts.catalog.datacenter;
    this.primaryDatacenter = opts.primaryDatacenter;
    this.logger = opts.logger ?? nullLogger;
    if (!this.isPrimary && !opts.link) throw new Error(`datacenter ${this.datacenter} is a secondary of ${opts.primaryDatacenter} and needs a link to it`);
  }

  get isPrimary(): boolean {
    return this.datacenter === this.primaryDatacenter;
  }

  /** The link to the primary (a secondary's only). */
  get link(): WanLink | undefined {
    return this.opts.link;
  }

  start(): void {
    // Writes one after another: a gateway change during a write is published after it. A
    // secondary publishes even with no gateway, so that the primary learns it (and its address).
    this.subs.push(
      this.catalog
        .watchMeshGateways()
        .pipe(concatMap((gateways) => this.catalog.publishFederationState(gateways, { skipEmpty: this.isPrimary }).catch((err: unknown) => this.logger.error({ err: errorMessage(err) }, 'cannot publish this datacenter\'s federation state'))))
        .subscribe((written) => {
          if (written) this.pushState();
        }),
    );
    const link = this.opts.link;
    if (!link || this.isPrimary) return;
    void link.follow(REPLICATION_PATH, async (body, index) => {
      const r = await this.catalog.replicateConfigEntries(Array.isArray(body) ? body : []);
      this.note(r.refused);
      if (r.added + r.updated + r.deleted > 0) this.logger.info({ index, added: r.added, updated: r.updated, deleted: r.deleted }, 'replicated config entries from the primary');
      link.noteReplicated('config', index);
    }, this.stop.signal);
    let sent = false;
    void link.follow(FEDERATION_STATES_PATH, async (body, index) => {
      const states = Array.isArray(body) ? body : [];
      const r = await this.catalog.replicateFederationStates(states);
      this.note(r.refused);
      link.noteReplicated('federation', index);
      // Sent once per start (this agent's address may have changed), and again whenever the
      // primary's copy differs from ours (it lost it, or missed a change).
      const theirs = states.find((s) => (s as { Datacenter?: unknown } | null)?.Datacenter === this.datacenter) as FederationState | undefined;
      if (!sent || !theirs || theirs.UpdatedAt !== this.ownState()?.UpdatedAt) this.pushState();
      sent = true;
    }, this.stop.signal);
  }

  close(): void {
    this.stop.abort();
    for (const s of this.subs) s.unsubscribe();
    this.opts.link?.close();
  }

  /** Where `?dc=<datacenter>` goes; undefined when no path is known (Consul's "No path to datacenter"). */
  routeTo(datacenter: string): DatacenterRoute | undefined {
    if (this.opts.link && !this.isPrimary) return { via: 'primary', link: this.opts.link };
    const known = this.catalog.wanAddresses().find((a) => a.Datacenter === datacenter);
    return known && { via: 'address', address: known.HTTPAddress };
  }

  /**
   * Every known datacenter: this one, the primary, and those with a federation state; this one
   * first (Consul sorts by round-trip time, and its own is the nearest; Switchyard has no
   * coordinates), then the others by name, as Consul breaks ties.
   */
  datacenters(): string[] {
    const others = new Set([this.primaryDatacenter, ...this.catalog.wanAddresses().map((a) => a.Datacenter), ...this.states().map((s) => s.Datacenter)]);
    others.delete(this.datacenter);
    return [this.datacenter, ...[...others].sort()];
  }

  status(): FederationStatus {
    return {
      Datacenter: this.datacenter,
      PrimaryDatacenter: this.primaryDatacenter,
      Primary: this.isPrimary,
      Link: this.isPrimary ? null : (this.opts.link?.status() ?? null),
      Secondaries: this.isPrimary ? this.catalog.wanAddresses() : [],
      FederationStates: this.states().map((s) => ({ Datacenter: s.Datacenter, UpdatedAt: s.UpdatedAt, MeshGateways: s.MeshGateways.length })),
      Refused: this.refused,
    };
  }

  private states(): FederationState[] {
    return this.catalog.store.read((tx) => tx.list<FederationState>('federation_states').map((r) => r.value));
  }

  private ownState(): FederationState | undefined {
    return this.catalog.store.read((tx) => tx.get<FederationState>('federation_states', this.datacenter)?.value);
  }

  private note(refused: readonly string[]): void {
    if (refused.length > 0 && JSON.stringify(refused) !== JSON.stringify(this.refused)) this.logger.warn({ refused }, 'replicated records this agent cannot take were left out');
    this.refused = refused;
  }

  /** Sends this datacenter's state to the primary (a secondary's), retrying until it is taken; one send at a time, the latest state. */
  private pushState(): void {
    const link = this.opts.link;
    if (!link || this.isPrimary) return;
    if (this.pushing) {
      this.pushAgain = true;
      return;
    }
    this.pushing = (async () => {
      do {
        this.pushAgain = false;
        const state = this.ownState();
        if (!state) break;
        await link.retry(
          'send the federation state',
          async () => {
            const reply = await link.request('PUT', `/v1/internal/federation-state/${encodeURIComponent(this.datacenter)}`, { State: state, HTTPAddress: this.opts.httpAddress() });
            if (reply.status !== 200) throw new Error(`${reply.status}: ${reply.text.trim()}`);
          },
          this.stop.signal,
        );
      } while (this.pushAgain && !this.stop.signal.aborted);
      this.pushing = undefined;
    })();
  }
}
