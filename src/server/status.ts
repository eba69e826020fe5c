// Per-proxy xDS status: connected streams, acknowledged state per type, the last NACK. Written by
// the streams, read by the HTTP API (GET /v1/agent/xds/status).
import { systemClock, type Clock } from '../core/clock.js';

export type StreamKind = 'delta' | 'sotw';

export interface TypeStatus {
  /** Resources (delta) or responses (SotW: 1 once acked) the client has acknowledged. */
  readonly AckedVersions: number;
  /** Nonce of the last acknowledged response. */
  readonly Nonce: string;
  /** SotW only: the acknowledged version_info. */
  readonly VersionInfo?: string;
}

export interface NackStatus {
  readonly TypeUrl: string;
  readonly Nonce: string;
  readonly Error: string;
  /** RFC 3339. */
  readonly Time: string;
}

export interface StreamStatus {
  readonly ID: string;
  readonly Kind: StreamKind;
  readonly Types: Readonly<Record<string, TypeStatus>>;
}

export interface ProxyXdsStatus {
  readonly ProxyID: string;
  readonly ConnectedStreams: number;
  readonly Streams: readonly StreamStatus[];
  readonly LastNack: NackStatus | null;
}

/** What a stream reports about itself. */
export interface StreamStatusHandle {
  acked(typeUrl: string, nonce: string, ackedVersions: number, versionInfo?: string): void;
  nacked(typeUrl: string, nonce: string, error: string): void;
  close(): void;
}

interface ProxyEntry {
  readonly streams: Map<string, { kind: StreamKind; types: Map<string, TypeStatus> }>;
  lastNack: NackStatus | null;
}

/** How many proxies with no stream are kept for their last NACK (the oldest disconnects go first). */
export const DEFAULT_MAX_DISCONNECTED = 1000;

export class XdsStatusRegistry {
  private readonly proxies = new Map<string, ProxyEntry>();
  /** Proxies listed only for their NACK, in the order they lost their last stream. */
  private readonly disconnected = new Set<string>();

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly maxDisconnected = DEFAULT_MAX_DISCONNECTED,
  ) {}

  openStream(proxyId: string, streamId: string, kind: StreamKind): StreamStatusHandle {
    const entry = this.entry(proxyId);
    this.disconnected.delete(proxyId);
    const types = new Map<string, TypeStatus>();
    entry.streams.set(streamId, { kind, types });
    return {
      acked: (typeUrl, nonce, count, versionInfo) => {
        types.set(typeUrl, versionInfo === undefined ? { AckedVersions: count, Nonce: nonce } : { AckedVersions: count, Nonce: nonce, VersionInfo: versionInfo });
      },
      nacked: (typeUrl, nonce, error) => {
        entry.lastNack = { TypeUrl: typeUrl, Nonce: nonce, Error: error, Time: new Date(this.clock.now()).toISOString() };
      },
      close: () => {
        if (!entry.streams.delete(streamId) || entry.streams.size > 0 || this.proxies.get(proxyId) !== entry) return;
        if (entry.lastNack === null) {
          this.proxies.delete(proxyId);
          return;
        }
        // A proxy with no stream stays listed while it has a NACK to show, but proxy ids churn
        // (every new instance has its own): keep only the most recently disconnected ones.
        this.disconnected.add(proxyId);
        for (const oldest of this.disconnected) {
          if (this.disconnected.size <= this.maxDisconnected) break;
          this.disconnected.delete(oldest);
          this.proxies.delete(oldest);
        }
      },
    };
  }

  get(proxyId: string): ProxyXdsStatus | undefined {
    const entry = this.proxies.get(proxyId);
    return entry && render(proxyId, entry);
  }

  list(): ProxyXdsStatus[] {
    return [...this.proxies.keys()].sort().map((id) => render(id, this.proxies.get(id) as ProxyEntry));
  }

  private entry(proxyId: string): ProxyEntry {
    let entry = this.proxies.get(proxyId);
    if (!entry) {
      entry = { streams: new Map(), lastNack: null };
      this.proxies.set(proxyId, entry);
    }
    return entry;
  }
}

function render(proxyId: string, entry: ProxyEntry): ProxyXdsStatus {
  return {
    ProxyID: proxyId,
    ConnectedStreams: entry.streams.size,
    Streams: [...entry.streams].map(([id, s]) => ({ ID: id, Kind: s.kind, Types: Object.fromEntries([...s.types].sort(([a], [b]) => (a < b ? -1 : 1))) })),
    LastNack: entry.lastNack,
  };
}
