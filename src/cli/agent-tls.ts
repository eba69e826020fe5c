// The agent's TLS listeners (HTTPS, TLS gRPC): certificates from the configured files, checked
// at startup (a bad file is an error naming its config key and path, and the agent does not
// start), or, where none are given, issued for the agent by its own CA and kept fresh. The CA
// that signs an auto-issued certificate is the mesh's root: clients trust it with the roots of
// /v1/connect/ca/roots, or the PEM bundle the agent keeps at <data-dir>/tls/ca.pem.
// Also the one startup warning about what a non-loopback bind leaves open.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentTls } from '../ca/agent-tls.js';
import type { CAService } from '../ca/ca-service.js';
import type { Clock } from '../core/clock.js';
import { errorMessage, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { fixedTls, type TlsListener, type TlsSource } from '../core/tls.js';
import type { AgentConfig, TlsFiles } from './agent-config.js';

export interface AgentTlsListeners {
  readonly https?: TlsListener;
  readonly grpc?: TlsListener;
  /** The auto-issued certificate, when a listener uses it. */
  readonly issued?: AgentTls;
  stop(): void;
}

function readPem(ref: { path: string; key: string }): string {
  try {
    return readFileSync(ref.path, 'utf8');
  } catch (err) {
    throw ValidationError.of(ref.key, `cannot read ${ref.path}: ${errorMessage(err)}`);
  }
}

/** The files of one listener, read and checked: certificates that parse, a key that parses and belongs to the certificate. */
function loadFiles(files: TlsFiles & Required<Pick<TlsFiles, 'certFile' | 'keyFile'>>): TlsSource {
  const certPem = readPem(files.certFile);
  const keyPem = readPem(files.keyFile);
  const caPem = files.caFile ? readPem(files.caFile) : undefined;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw ValidationError.of(files.certFile.key, `${files.certFile.path} is not a PEM certificate: ${errorMessage(err)}`);
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error(`it does not match the certificate in ${files.certFile.path}`);
  } catch (err) {
    throw ValidationError.of(files.keyFile.key, `${files.keyFile.path} is not the certificate's private key (PEM): ${errorMessage(err)}`);
  }
  if (files.caFile && caPem !== undefined) {
    try {
      new X509Certificate(caPem);
    } catch (err) {
      throw ValidationError.of(files.caFile.key, `${files.caFile.path} is not a PEM certificate: ${errorMessage(err)}`);
    }
  }
  return fixedTls({ certPem, keyPem, caPem });
}

/** Keeps <data-dir>/tls/ca.pem equal to the CA bundle clients should trust (written whole, then renamed). */
function writeCaFile(dataDir: string, source: TlsSource, logger: Logger): () => void {
  const dir = join(dataDir, 'tls');
  const write = (pem: string | undefined) => {
    if (!pem) return;
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'ca.pem.tmp'), pem, { mode: 0o644 });
      renameSync(join(dir, 'ca.pem.tmp'), join(dir, 'ca.pem'));
    } catch (err) {
      logger.error({ err: errorMessage(err), path: join(dir, 'ca.pem') }, 'cannot write the agent CA file');
    }
  };
  write(source.current().caPem);
  return source.onChange((m) => write(m.caPem));
}

/** Builds the TLS listeners the configuration asks for; rejects (the agent does not start) on a bad file or a certificate the CA cannot issue. */
export async function agentTlsListeners(config: AgentConfig, deps: { ca: CAService; clock: Clock; logger: Logger }): Promise<AgentTlsListeners> {
  const wanted = { https: (config.httpsPort ?? -1) >= 0, grpc: (config.grpcTlsPort ?? -1) >= 0 };
  const files = config.tls ?? { https: { verifyIncoming: false }, grpc: { verifyIncoming: false } };
  let issued: AgentTls | undefined;
  let stopCaFile = (): void => undefined;
  const source = async (f: TlsFiles): Promise<TlsSource> => {
    if (f.certFile && f.keyFile) {
      return loadFiles({ ...f, certFile: f.certFile, keyFile: f.keyFile });
    }
    if (!issued) {
      issued = new AgentTls({ ca: deps.ca, clock: deps.clock, logger: deps.logger, node: config.node, datacenter: config.datacenter, bind: config.bind });
      await issued.start();
      if (config.dataDir) stopCaFile = writeCaFile(config.dataDir, issued, deps.logger);
    }
    if (!f.caFile) return issued;
    // An auto-issued certificate, with client certificates checked against another CA.
    const auto = issued;
    const caPem = readPem(f.caFile);
    return { current: () => ({ ...auto.current(), caPem }), onChange: (fn) => auto.onChange((m) => fn({ ...m, caPem })) };
  };
  const https = wanted.https ? { source: await source(files.https), verifyIncoming: files.https.verifyIncoming } : undefined;
  const grpc = wanted.grpc ? { source: await source(files.grpc), verifyIncoming: files.grpc.verifyIncoming } : undefined;
  return {
    https,
    grpc,
    issued,
    stop() {
      stopCaFile();
      issued?.stop();
    },
  };
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/**
 * One line when the agent listens beyond this host without ACLs or with plaintext ports: what is
 * open to whom, and how to close it. Undefined on loopback, or with ACLs on and only TLS ports.
 */
export function exposureWarning(config: AgentConfig): string | undefined {
  if (LOOPBACK.test(config.bind)) return undefined;
  const plain = [config.httpPort >= 0 && `HTTP ${config.httpPort}`, config.grpcPort >= 0 && `gRPC ${config.grpcPort}`].filter(Boolean);
  const acls = config.acl?.enabled ?? false;
  if (acls && plain.length === 0) return undefined;
  const open = [!acls && 'ACLs are disabled (anyone who reaches the agent can read every leaf certificate and private key, and change the catalog, intentions and CA)', plain.length > 0 && `plaintext ${plain.join(' and ')} (tokens and private keys cross the network unencrypted)`].filter(Boolean);
  const fix = [!acls && 'enable ACLs (acl.enabled, -acl-enabled)', plain.length > 0 && 'serve TLS only (ports.https / -https-port and ports.grpc_tls / -grpc-tls-port, with ports.http and ports.grpc set to -1)'].filter(Boolean);
  return `bound to ${config.bind}, reachable beyond this host, and ${open.join('; and ')}: ${fix.join(' and ')}, or bind to 127.0.0.1`;
}
