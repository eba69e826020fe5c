// gRPC server credentials from a TlsSource: grpc-js's certificate-provider credentials swap the
// secure context of the listening server whenever the source hands out new material (a renewed
// certificate), so the TLS gRPC port never restarts. With verify_incoming, a client must present
// a certificate that chains to the source's CA, or its handshake is refused.
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { TlsListener, TlsMaterial } from '../core/tls.js';

type CaListener = (u: { caCertificate: Buffer } | null) => void;
type IdentityListener = (u: { certificate: Buffer; privateKey: Buffer } | null) => void;

/** One CertificateProvider serving both the identity (certificate and key) and the CA of a TlsSource. */
class SourceProvider {
  private readonly ca = new Set<CaListener>();
  private readonly identity = new Set<IdentityListener>();
  private stop: (() => void) | undefined;

  constructor(private readonly listener: TlsListener) {}

  private watch(): void {
    if (this.stop || this.ca.size + this.identity.size === 0) return;
    this.stop = this.listener.source.onChange((m) => this.emit(m));
  }

  private unwatch(): void {
    if (this.ca.size + this.identity.size > 0) return;
    this.stop?.();
    this.stop = undefined;
  }

  private emit(m: TlsMaterial): void {
    for (const fn of this.identity) fn({ certificate: Buffer.from(m.certPem), privateKey: Buffer.from(m.keyPem) });
    for (const fn of this.ca) fn(m.caPem ? { caCertificate: Buffer.from(m.caPem) } : null);
  }

  addCaCertificateListener(fn: CaListener): void {
    this.ca.add(fn);
    // Later, not now: grpc-js adds its own watcher only after this returns, and would miss it.
    queueMicrotask(() => {
      const m = this.listener.source.current();
      if (this.ca.has(fn)) fn(m.caPem ? { caCertificate: Buffer.from(m.caPem) } : null);
    });
    this.watch();
  }

  removeCaCertificateListener(fn: CaListener): void {
    this.ca.delete(fn);
    this.unwatch();
  }

  addIdentityCertificateListener(fn: IdentityListener): void {
    this.identity.add(fn);
    queueMicrotask(() => {
      const m = this.listener.source.current();
      if (this.identity.has(fn)) fn({ certificate: Buffer.from(m.certPem), privateKey: Buffer.from(m.keyPem) });
    });
    this.watch();
  }

  removeIdentityCertificateListener(fn: IdentityListener): void {
    this.identity.delete(fn);
    this.unwatch();
  }
}

export function tlsServerCredentials(listener: TlsListener): ServerCredentials {
  const provider = new SourceProvider(listener);
  // grpc-js 1.14's helper hands its first argument on as the identity provider and its second as
  // the CA one (its typings name them the other way round); a CA provider makes the server ask
  // for client certificates, and `true` refuses a handshake without a valid one.
  return experimental.createCertificateProviderServerCredentials(provider, listener.verifyIncoming ? provider : null, listener.verifyIncoming);
}
