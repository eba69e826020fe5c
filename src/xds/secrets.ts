// SDS Secrets: the proxy's leaf certificate and key (names.OWN_LEAF_SECRET) and the trust bundle
// of every CA root as a validation context (names.rootsSecretName).
import { OWN_LEAF_SECRET, rootsSecretName } from '../core/names.js';
import { Secret } from '../gen/envoy/extensions/transport_sockets/tls/v3/secret.js';
import type { ConnectProxySnapshot } from '../proxycfg/snapshot.js';

function inline(text: string) {
  return { specifier: { $case: 'inlineString' as const, value: text } };
}

function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** The leaf Secret, named the proxy's own unless `name` says whose it is. */
export function leafSecret(snap: Pick<ConnectProxySnapshot, 'leaf'>, name: string = OWN_LEAF_SECRET): Secret {
  return Secret.fromPartial({
    name,
    type: { $case: 'tlsCertificate', value: { certificateChain: inline(withNewline(snap.leaf.CertPEM)), privateKey: inline(withNewline(snap.leaf.PrivateKeyPEM)) } },
  });
}

/** Every root (active and not yet retired) is trusted, so peers on either side of a rotation connect. */
export function rootsSecret(snap: Pick<ConnectProxySnapshot, 'roots' | 'trustDomain'>): Secret {
  const bundle = [...snap.roots.Roots].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)).map((r) => withNewline(r.RootCert)).join('');
  return Secret.fromPartial({ name: rootsSecretName(snap.trustDomain), type: { $case: 'validationContext', value: { trustedCa: inline(bundle) } } });
}
