// Per-proxy xDS status: connected streams, acknowledged state per type, the last NACK, whether
// its streams wait (and why), a generation failure, and the last stream refused for its token. Written by the streams, read by the HTTP
// API (GET /v1/agent/xds/status).
import { systemClock, type Clock } from '../core/clock.js';

export type StreamKind = 'delta' | 'sotw';

export interface TypeStatus {
  /** Resources (delta) or responses (SotW: 1 once acked) the client has acknowledged. */
  readonly AckedVersions: number;
  /** Nonce of the last acknowledged response ('' before the first ACK). */
  readonly Nonce: string;
  /** SotW only: the acknowledged version_info. */
  readonly VersionInfo?: string;
  /** Nonce of the last response sent of this type: equal to Nonce once the client has acknowledged it. */
  readonly SentNonce?: string;
  /** Resources in the last response sent (delta: upserts and removals; SotW: the whole set). */
  readonly SentResources?: number;
  /** SotW only: the version_info last sent. */
  readonly SentVersionInfo?: string;
}

export interface NackStatus {
  readonly TypeUrl: string;
  readonly Nonce: string;
  readonly Error: string;
  /** RFC 3339. */
  readonly Time: string;
}

export interface GenerationErrorStatus {
  /** Why the proxy's resources could not be generated (its last good configuration is kept). */
  readonly Error: string;
  /** RFC 3339: the latest failed generation. */
  readonly Time: string;
}

export interface WaitingStatus {
  /** Why the proxy's streams receive nothing yet, e.g. "proxy not registered". */
  readonly Reason: string;
  /** RFC 3339: since when its longest-waiting stream waits. */
  readonly Since: string;
}

export interface DeniedStatus {
  /** The gRPC status the stream ended with: UNAUTHENTICATED or PERMISSION_DENIED. */
  readonly Code: string;
  /** The message it was given (Consul's, naming the token's AccessorID, never its SecretID). */
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
  readonly Waiting: WaitingStatus | null;
  readonly GenerationError: GenerationErrorStatus | null;
  /** The last stream refused for its token (ACLs), until a stream of the proxy is served again. */
  readonly LastDenied: DeniedStatus | null;
}

/** What a stream reports about itself. */
export interface StreamStatusHandle {
  /** A response of this type was sent (with this many resources). */
  sent(typeUrl: string, nonce: string, resources: number, versionInfo?: string): void;
  acked(typeUrl: string, nonce: string, ackedVersions: number, versionInfo?: string): void;
  nacked(typeUrl: string, nonce: string, error: string): void;
  /** The stream waits (for `reason`) or, with null, no longer does. */
  waiting(reason: string | null): void;
  /** Generating the proxy's resources failed; the last good configuration is kept. */
  generationFailed(error: string): void;
  /** Generating the proxy's resources succeeded: a generation error is cleared. */
  generated(): void;
  /** The stream is refused for its token (it closes next); with null, it is served (a refusal is cleared). */
  denied(code: string | null, error?: string): void;
  close(): void;
}

interface StreamEntry {
  readonly kind: StreamKind;
  readonly types: Map<string, TypeStatus>;
  waiting: { reason: string; since: number } | null;
}

interface ProxyEntry {
  readonly streams: Map<string, StreamEntry>;
  lastNack: NackStatus | null;
  generationError: GenerationErrorStatus | null;
  lastDenied: DeniedStatus | null;
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
    const stream: StreamEntry = { kind, types, waiting: null };
    entry.streams.set(streamId, stream);
    const now = () => new Date(this.clock.now()).toISOString();
    return {
      sent: (typeUrl, nonce, resources, versionInfo) => {
        const was = types.get(typeUrl) ?? { AckedVersions: 0, Nonce: '' };
        types.set(typeUrl, { ...was, SentNonce: nonce, SentResources: resources, ...(versionInfo === undefined ? {} : { SentVersionInfo: versionInfo }) });
      },
      acked: (typeUrl, nonce, count, versionInfo) => {
        const { AckedVersions: _count, Nonce: _nonce, VersionInfo: _version, ...sent } = types.get(typeUrl) ?? { AckedVersions: 0, Nonce: '' };
        types.set(typeUrl, versionInfo === undefined ? { AckedVersions: count, Nonce: nonce, ...sent } : { AckedVersions: count, Nonce: nonce, VersionInfo: versionInfo, ...sent });
      },
      nacked: (typeUrl, nonce, error) => {
        entry.lastNack = { TypeUrl: typeUrl, Nonce: nonce, Error: error, Time: now() };
      },
      waiting: (reason) => {
        stream.waiting = reason === null ? null : { reason, since: this.clock.now() };
      },
      generationFailed: (error) => {
        entry.generationError = { Error: error, Time: now() };
      },
      generated: () => {
        entry.generationError = null;
      },
      denied: (code, error = '') => {
        entry.lastDenied = code === null ? null : { Code: code, Error: error, Time: now() };
      },
      close: () => {
        if (!entry.streams.delete(streamId) || entry.streams.size > 0 || this.proxies.get(proxyId) !== entry) return;
        if (entry.lastNack === null && entry.generationError === null && entry.lastDenied === null) {
          this.proxies.delete(proxyId);
          return;
        }
        // A proxy with no stream stays listed while it has a problem to show, but proxy ids churn
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
      entry = { streams: new Map(), lastNack: null, generationError: null, lastDenied: null };
      this.proxies.set(proxyId, entry);
    }
    return entry;
  }
}

function render(proxyId: string, entry: ProxyEntry): ProxyXdsStatus {
  let waiting: StreamEntry['waiting'] = null;
  for (const s of entry.streams.values()) if (s.waiting && (!waiting || s.waiting.since < waiting.since)) waiting = s.waiting;
  return {
    ProxyID: proxyId,
    ConnectedStreams: entry.streams.size,
    Streams: [...entry.streams].map(([id, s]) => ({ ID: id, Kind: s.kind, Types: Object.fromEntries([...s.types].sort(([a], [b]) => (a < b ? -1 : 1))) })),
    LastNack: entry.lastNack,
    Waiting: waiting && { Reason: waiting.reason, Since: new Date(waiting.since).toISOString() },
    GenerationError: entry.generationError,
    LastDenied: entry.lastDenied,
  };
}
