// The CA's public records, in Consul's JSON shapes (/v1/connect/ca/roots, /v1/agent/connect/ca/leaf).

export interface CARoot {
  readonly ID: string;
  readonly Name: string;
  readonly SerialNumber: number;
  readonly SigningKeyID: string;
  readonly ExternalTrustDomain: string;
  readonly NotBefore: string;
  readonly NotAfter: string;
  /** PEM of the root certificate. */
  readonly RootCert: string;
  /** PEMs of intermediates, including the cross-signed certificate after a rotation. */
  readonly IntermediateCerts: readonly string[];
  readonly Active: boolean;
  readonly PrivateKeyType: 'ec' | 'rsa';
  readonly PrivateKeyBits: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface CARoots {
  readonly ActiveRootID: string;
  readonly TrustDomain: string;
  readonly Roots: readonly CARoot[];
  /** Index of the last change to the roots. */
  readonly Index: number;
}

/** A service identity's leaf certificate (never logged: it carries the private key). */
export interface LeafCert {
  readonly SerialNumber: string;
  /** PEM of the leaf followed by any intermediates up to (not including) the root. */
  readonly CertPEM: string;
  readonly PrivateKeyPEM: string;
  readonly Service: string;
  readonly ServiceURI: string;
  readonly ValidAfter: string;
  readonly ValidBefore: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}
