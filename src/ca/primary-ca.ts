// What a secondary datacenter's CA needs of the primary's: its roots (followed with blocking
// queries) and a signature on an intermediate CSR. The transport is behind this interface: the
// HTTP one (primary-http.ts) today, the WAN link's later.
import type { CARoots } from './types.js';

export interface SignedIntermediate {
  /** The intermediate CA certificate (PEM) the primary signed. */
  readonly intermediatePem: string;
  /** The primary's root that signed it (its active root at the time). */
  readonly rootId: string;
}

export interface PrimaryCallOptions {
  readonly signal?: AbortSignal;
  /** Told of every failure the transport retries (the primary unreachable, busy or starting). */
  readonly onRetry?: (err: unknown, delayMs: number) => void;
}

export interface PrimaryCA {
  /**
   * The primary's roots. With `index`, a blocking query: answers when the roots change past it
   * (or after the primary's wait, with the same roots). Transient failures are retried inside.
   */
  roots(index?: number, opts?: PrimaryCallOptions): Promise<CARoots>;
  /** Has the primary sign an intermediate CSR (PEM); a refused CSR rejects with the primary's reason. */
  signIntermediate(csrPem: string, opts?: PrimaryCallOptions): Promise<SignedIntermediate>;
  /** Where the primary is, for messages (`127.0.0.1:8500`). */
  readonly describe: string;
}
