// The TLS material a listener serves with (the agent's HTTPS and TLS gRPC ports): a certificate
// chain, its key, and the CA that client certificates must chain to when verify_incoming is on.
// A source hands out the current material and tells its listeners when it is replaced (an
// auto-issued certificate renewed, the CA's roots rotated), so they swap it in without a restart.

export interface TlsMaterial {
  /** PEM: the certificate, then any intermediates. */
  readonly certPem: string;
  /** PEM of the private key (never logged). */
  readonly keyPem: string;
  /** PEM bundle of the CAs client certificates must chain to (verify_incoming). */
  readonly caPem?: string;
}

export interface TlsSource {
  current(): TlsMaterial;
  /** Calls `fn` with each new material from now on; returns what stops it. */
  onChange(fn: (m: TlsMaterial) => void): () => void;
}

/** A source that never changes (certificates from files). */
export function fixedTls(material: TlsMaterial): TlsSource {
  return { current: () => material, onChange: () => () => undefined };
}

/** A TLS listener's settings: what it serves, and whether a client must present a certificate signed by the CA. */
export interface TlsListener {
  readonly source: TlsSource;
  readonly verifyIncoming: boolean;
}
