// go-plugin's AutoMTLS: host and plugin each make a throwaway self-signed certificate for
// "localhost"; the host passes its own in PLUGIN_CLIENT_CERT, the plugin answers with its own
// in the handshake line, and each trusts exactly the other's for the one connection.
import { randomBytes } from 'node:crypto';
import { basicConstraints, buildCertificate, dnsSan, extension, LEAF_EXT_KEY_USAGE, nameCN, subjectKeyId } from '../certs.js';
import { generateKey, keyIdentifier, signerFor } from '../keys.js';
import { certPem, toPem } from '../pem.js';

/** digitalSignature, keyEncipherment, keyAgreement, keyCertSign: what go-plugin's certificates carry. */
const KEY_USAGE = extension('2.5.29.15', true, Uint8Array.of(0x03, 0x02, 0x02, 0xac));
const YEAR_MS = 365 * 24 * 3_600_000;

export interface AutoMtlsIdentity {
  readonly certDer: Uint8Array;
  readonly certPem: string;
  readonly keyPem: string;
}

export async function autoMtlsIdentity(now = Date.now()): Promise<AutoMtlsIdentity> {
  const spec = { type: 'ec', bits: 256 } as const;
  const key = await generateKey(spec);
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const name = nameCN('localhost');
  const der = buildCertificate(
    {
      serial,
      issuer: name,
      subject: name,
      notBefore: now - 30_000,
      notAfter: now + 30 * YEAR_MS,
      spki: key.spki,
      extensions: [basicConstraints(true), KEY_USAGE, LEAF_EXT_KEY_USAGE, subjectKeyId(keyIdentifier(key.spki)), dnsSan(['localhost'])],
    },
    signerFor(spec, key.pkcs8),
  );
  return { certDer: der, certPem: certPem(der), keyPem: toPem('PRIVATE KEY', key.pkcs8) };
}
