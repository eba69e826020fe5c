// The persistence port of the CA: one JSON-serialisable document holding everything a restart
// needs (cluster id, configuration, provider state with its keys, the published roots). The
// composition root adapts it onto the store; tests use the in-memory one.
import type { CAConfig } from './config.js';
import type { CARoot } from './types.js';

export interface PersistedRoot extends CARoot {
  /** When this root stopped being active (ms since the epoch). */
  readonly RotatedOutAt?: number;
  /** When the last leaf it can have signed expires: it is unpublished after that. */
  readonly PruneAfter?: number;
}

export interface PersistedCAState {
  readonly version: 1;
  readonly clusterId: string;
  readonly config: CAConfig;
  readonly configCreateIndex: number;
  readonly configModifyIndex: number;
  /** The active provider's opaque state (for the built-in provider: its signing key). Secret. */
  readonly providerState: Readonly<Record<string, string>>;
  /** Newest last; exactly one is Active. */
  readonly roots: readonly PersistedRoot[];
  /** The CA's own change index (roots and configuration). */
  readonly index: number;
  /**
   * The longest LeafCertTTL in force since the active root became active (absent: the current
   * one): a leaf it signed may live that long, so a rotation keeps it published that long.
   */
  readonly activeRootMaxLeafTtlMs?: number;
  /**
   * Set in a secondary datacenter: the primary it follows. Its roots are the primary's, its
   * provider state holds the intermediate and its key, and `clusterId` is the primary's.
   */
  readonly primaryDatacenter?: string;
}

export interface CAStateStore {
  load(): Promise<PersistedCAState | undefined>;
  /** Resolves once the state is durable. */
  save(state: PersistedCAState): Promise<void>;
}

/**
 * Keeps the state as JSON text, as a durable store would, so a CA re-instantiated over the same
 * instance sees exactly what was saved (and nothing that was not serialisable).
 */
export class MemoryCAStateStore implements CAStateStore {
  private json?: string;
  saves = 0;

  load(): Promise<PersistedCAState | undefined> {
    return Promise.resolve(this.json === undefined ? undefined : (JSON.parse(this.json) as PersistedCAState));
  }

  save(state: PersistedCAState): Promise<void> {
    this.json = JSON.stringify(state);
    this.saves++;
    return Promise.resolve();
  }
}
