// go-plugin's handshake, as Consul's CA plugins speak it: the host starts the binary with the
// magic cookie and the protocol versions it speaks in the environment (and PLUGIN_CLIENT_CERT
// for AutoMTLS); the plugin answers with one line on stdout,
// `CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|PROTOCOL|SERVER-CERT`, and serves gRPC there.

/** Consul's CA plugin cookie (agent/connect/ca/plugin): a plugin built for Consul serves this host. */
export const MAGIC_COOKIE_KEY = 'CONSUL_PLUGIN_MAGIC_COOKIE';
export const MAGIC_COOKIE_VALUE = 'f31f63b28fa82a3cdb30a6284cb1e50e3a13b7e60ba105a2c91219da319d216c';
/** go-plugin's own protocol version, the first field of the line. */
export const CORE_PROTOCOL_VERSION = 1;
/** The plugin.CA protocol version (Consul's was 1; Switchyard's additions keep it compatible). */
export const APP_PROTOCOL_VERSION = 1;

export interface Handshake {
  readonly appVersion: number;
  /** A grpc-js target: `unix:///path` or `host:port`. */
  readonly target: string;
  readonly network: 'unix' | 'tcp';
  readonly address: string;
  /** The plugin's AutoMTLS certificate (DER); absent when the plugin does not do AutoMTLS. */
  readonly serverCert?: Uint8Array;
}

/** The environment a plugin is started with (on top of the agent's). */
export function handshakeEnv(clientCertPem: string, socketDir: string): Record<string, string> {
  return {
    [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
    PLUGIN_PROTOCOL_VERSIONS: String(APP_PROTOCOL_VERSION),
    PLUGIN_CLIENT_CERT: clientCertPem,
    PLUGIN_UNIX_SOCKET_DIR: socketDir,
  };
}

/** Parses the plugin's handshake line; throws saying what is wrong with it. */
export function parseHandshake(line: string): Handshake {
  const parts = line.trim().split('|');
  const bad = (why: string) => new Error(`the plugin's handshake line ${JSON.stringify(line.trim().slice(0, 200))} ${why}`);
  // A seventh field says whether the plugin multiplexes gRPC connections: not asked for, not used.
  if (parts.length < 6) throw bad('is not CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|PROTOCOL|SERVER-CERT (is this a go-plugin plugin?)');
  const [core, app, network, address, protocol, cert] = parts as [string, string, string, string, string, string];
  if (core !== String(CORE_PROTOCOL_VERSION)) throw bad(`has go-plugin core protocol version ${core}; this host speaks ${CORE_PROTOCOL_VERSION}`);
  if (app !== String(APP_PROTOCOL_VERSION)) throw bad(`has CA plugin protocol version ${app}; this host speaks ${APP_PROTOCOL_VERSION}`);
  if (protocol !== 'grpc') throw bad(`offers protocol "${protocol}"; only gRPC plugins are served (net/rpc is not)`);
  if (network !== 'unix' && network !== 'tcp') throw bad(`names network "${network}"; only unix and tcp are served`);
  if (address === '') throw bad('has no address');
  const serverCert = cert === '' ? undefined : new Uint8Array(Buffer.from(cert, 'base64'));
  if (serverCert && serverCert.length === 0) throw bad('has a server certificate that is not base64');
  return { appVersion: APP_PROTOCOL_VERSION, network, address, target: network === 'unix' ? `unix://${address}` : address, ...(serverCert ? { serverCert } : {}) };
}

/** The handshake line a plugin (the TypeScript SDK) prints. */
export function formatHandshake(socketPath: string, serverCertDer: Uint8Array | undefined): string {
  const cert = serverCertDer ? Buffer.from(serverCertDer).toString('base64').replace(/=+$/, '') : '';
  return `${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socketPath}|grpc|${cert}`;
}
