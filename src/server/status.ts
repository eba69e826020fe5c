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

export class XdsStatusRegistry {
  private readonly proxies = new Map<string, ProxyEntry>();

  constructor(private readonly clock: Clock = systemClock) {}

  openStream(proxyId: string, streamId: string, kind: StreamKind): StreamStatusHandle {
    const entry = this.entry(proxyId);
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
        entry.streams.delete(streamId);
        // A proxy with no stream stays listed while it has a NACK to show.
        if (entry.streams.size === 0 && entry.lastNack === null) this.proxies.delete(proxyId);
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
