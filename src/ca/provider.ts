// The CA provider contract, after Consul's `ca.Provider`. Every method is async and everything
// crossing it is plain data: certificates and CSRs as DER bytes, configuration and state as
// JSON, so a provider can run out of process (gRPC plugin) or be a Vault-API PKI mount.

export interface ProviderConfig {
  /** The cluster id; the trust domain is `<cluster-id>.consul`. */
  readonly clusterId: string;
  /** Primary datacenter: owns the root. Secondary: signs with an intermediate from the primary. */
  readonly isPrimary: boolean;
  readonly datacenter: string;
  /** The provider's own settings (the `Config` map of the CA configuration), JSON. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  /** What `state()` returned last time, to resume with the same keys after a restart. */
  readonly state?: Readonly<Record<string, string>>;
}

export interface RootChain {
  /** The root certificate. */
  readonly root: Uint8Array;
  /** Certificates between the root and the leaf-signing certificate, if any. */
  readonly intermediates: readonly Uint8Array[];
}

export interface IntermediateCsr {
  readonly csr: Uint8Array;
  /** Opaque handle the provider wants back in setIntermediate (Vault's key id, for example). */
  readonly opaque: string;
}

export interface LeafSignOptions {
  /** Lifetime of the leaf in milliseconds (the CA has already checked it is in range). */
  readonly ttlMs: number;
}

export interface CAProvider {
  /** Applies configuration; with `state`, resumes the keys it describes instead of making new ones. */
  configure(config: ProviderConfig): Promise<void>;
  /** Opaque, JSON-serialisable state to persist (for the built-in provider: its keys). */
  state(): Promise<Record<string, string>>;
  /** Primary only: generates (once) and returns the root and its chain. */
  generateRoot(): Promise<RootChain>;
  /** Secondary only: a CSR for an intermediate, to be signed by the primary. */
  generateIntermediateCsr(): Promise<IntermediateCsr>;
  /** Secondary only: installs the intermediate the primary signed (and the root it chains to). */
  setIntermediate(intermediate: Uint8Array, root: Uint8Array, opaque: string): Promise<void>;
  /** The certificate that signs leaves now (the root in a primary, the intermediate in a secondary). */
  activeLeafSigningCert(): Promise<Uint8Array>;
  /**
   * Primary only, for a provider whose leaf-signing intermediate is apart from the root (Consul's
   * PrimaryUsesIntermediate, GenerateLeafSigningCert): makes a new intermediate signed by the same
   * root, signs leaves with it from now on, and returns it. Absent: the root signs leaves itself.
   */
  generateLeafSigningCert?(): Promise<Uint8Array>;
  /** Signs a leaf CSR the caller has validated; returns the leaf certificate. */
  sign(csr: Uint8Array, opts: LeafSignOptions): Promise<Uint8Array>;
  /** Signs a secondary's intermediate CSR (CA:true, path length 0). */
  signIntermediate(csr: Uint8Array): Promise<Uint8Array>;
  /** Signs another CA's certificate with this CA's key (root rotation). */
  crossSignCA(cert: Uint8Array): Promise<Uint8Array>;
  supportsCrossSigning(): Promise<boolean>;
  /** Releases what the provider holds (a Vault mount, keys) when it is replaced. */
  cleanup(providerTypeChange: boolean, otherConfig: Readonly<Record<string, unknown>>): Promise<void>;
  /**
   * Stops what runs for the provider (a token's renewal, a plugin process), keeping everything it
   * holds: the agent is stopping. A plugin process is asked to shut down, so this may take a moment.
   */
  close?(): void | Promise<void>;
}
