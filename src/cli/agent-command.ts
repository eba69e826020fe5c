// `switchyard agent`: runs the agent until SIGTERM or SIGINT, then shuts down within a bounded
// grace period (refuses new requests, lets those in flight finish, ends xDS streams, closes the
// store); a second signal ends the grace period at once.
import { pino } from 'pino';
import type { Logger } from '../core/logger.js';
import { formatDuration } from '../core/duration.js';
import { DEFAULT_MAX_BODY_BYTES } from '../api/route.js';
import { DEFAULT_XDS_LIMITS } from '../server/index.js';
import { DEFAULT_SHUTDOWN_GRACE_MS, DEFAULTS, MAX_BODY_BYTES_RANGE, resolveConfig, XDS_MAX_STREAMS_RANGE } from './agent-config.js';
import { startAgent } from './agent.js';
import type { Command } from './command.js';
import { flagsHelp, noArguments, parseFlags } from './flags.js';
import { humanLogStream } from './log-format.js';
import { packageVersion } from './version.js';
import { ValidationError } from '../core/errors.js';

const FLAGS = {
  dev: { type: 'bool', help: 'Development mode: in-memory store, local defaults' },
  'data-dir': { type: 'string', help: 'Folder of the durable store (SQLite, WAL)' },
  'http-port': { type: 'int', help: `HTTP API port (default ${DEFAULTS.httpPort}; -1 for none)`, min: -1, max: 65535 },
  'grpc-port': { type: 'int', help: `gRPC (xDS) port (default ${DEFAULTS.grpcPort}; -1 for none)`, min: -1, max: 65535 },
  'https-port': { type: 'int', help: 'HTTPS API port (default -1: none); certificate from tls.https / tls.defaults in the config file, else issued by the agent\'s CA', min: -1, max: 65535 },
  'grpc-tls-port': { type: 'int', help: 'gRPC (xDS) over TLS port (default -1: none); certificate as for -https-port, from tls.grpc / tls.defaults', min: -1, max: 65535 },
  bind: { type: 'string', help: `Address to bind to (default ${DEFAULTS.bind})` },
  datacenter: { type: 'string', help: `Datacenter name (default ${DEFAULTS.datacenter})` },
  'primary-datacenter': { type: 'string', help: 'The primary datacenter, which holds config entries, intentions and the CA (default: this datacenter, making it the primary)' },
  'retry-join-wan': { type: 'strings', help: "In a secondary datacenter: the primary agent's HTTP address, host:port (repeat for several; tried in turn, retried with backoff)" },
  node: { type: 'string', help: 'Node name (default: the host name)' },
  'config-file': { type: 'string', help: 'JSON config file (flags take precedence)' },
  'shutdown-grace': { type: 'string', help: `After SIGTERM/SIGINT, how long requests in flight may take to finish, as a duration (default ${formatDuration(DEFAULT_SHUTDOWN_GRACE_MS)}, at most 10m)` },
  'accept-store-loss': { type: 'bool', help: 'Start from what is left of a damaged data dir (a failed check moves it aside and begins anew; lost writes stay lost) instead of refusing it' },
  'http-max-body-bytes': { type: 'int', help: `Largest HTTP request body, in bytes (default ${DEFAULT_MAX_BODY_BYTES}); smaller records have smaller limits`, min: MAX_BODY_BYTES_RANGE.min, max: MAX_BODY_BYTES_RANGE.max },
  'log-level': { type: 'string', help: 'trace, debug, info, warn, error or silent (default info; config key log_level)' },
  'log-format': { type: 'string', help: 'text (human-readable) or json; default text when stderr is a terminal, json otherwise', default: 'auto' },
  'xds-max-streams': { type: 'int', help: `Most xDS streams the gRPC port holds at once (default ${DEFAULT_XDS_LIMITS.maxStreams}); beyond it a stream is refused with RESOURCE_EXHAUSTED`, min: XDS_MAX_STREAMS_RANGE.min, max: XDS_MAX_STREAMS_RANGE.max },
  'acl-enabled': { type: 'bool', help: 'Enable ACLs (Consul\'s acl.enabled): tokens, policies and roles under /v1/acl' },
  'acl-default-policy': { type: 'string', help: 'What a token may do where no rule decides: allow or deny (default allow)' },
} as const;

/** What the process may take beyond the grace period (ending xDS streams, closing the store) before it is ended anyway. */
const SHUTDOWN_MARGIN_MS = 2000;

/**
 * Resolves on the first SIGTERM/SIGINT; a second one aborts `cut` (ending the grace period at
 * once; the store is still closed cleanly, since everything after the grace period is bounded).
 */
function stopSignals(logger: Logger, cut: AbortController): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = 0;
    const on = (signal: NodeJS.Signals) => {
      received++;
      if (received === 1) resolve(signal);
      else if (received === 2) {
        logger.warn({ signal }, 'second signal: ending the grace period now, cutting requests still in flight');
        cut.abort();
      }
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the Switchyard agent (catalog, HTTP API, health checks)',
  help: `Flags:\n${flagsHelp(FLAGS)}`,
  async run(args, io) {
    const { flags, positional } = parseFlags(FLAGS, args);
    noArguments(positional);
    const config = resolveConfig(flags);
    const format = flags['log-format'];
    if (format !== 'auto' && format !== 'text' && format !== 'json') throw ValidationError.of('-log-format', `must be text, json or auto, got "${format}"`);
    const human = format === 'text' || (format === 'auto' && process.stderr.isTTY === true);
    const destination = human ? humanLogStream((t) => process.stderr.write(t)) : pino.destination(2);
    const logger = pino({ level: config.logLevel, base: { node: config.node } }, destination) as unknown as Logger;
    const agent = await startAgent(config, { logger });
    const grpc = [agent.xds.port >= 0 && `${config.bind}:${agent.xds.port}`, agent.xds.tlsPort >= 0 && `${config.bind}:${agent.xds.tlsPort} (TLS)`].filter(Boolean).join(', ');
    const httpApi = [config.httpPort >= 0 && `http://${agent.httpAddress}`, agent.httpsAddress && `https://${agent.httpsAddress}`].filter(Boolean).join(', ');
    const store = config.dataDir ?? 'in memory (-dev)';
    logger.info({ version: packageVersion(), http: agent.httpAddress, grpc, dataDir: config.dataDir ?? '(in memory)', datacenter: config.datacenter, defaultIntentionPolicy: config.defaultIntentionPolicy }, 'agent started');
    io.stdout(
      [
        `Switchyard agent running: node ${config.node}, datacenter ${config.datacenter}, HTTP on ${config.httpPort >= 0 ? agent.httpAddress : 'none'}${agent.httpsAddress ? `, HTTPS on ${agent.httpsAddress}` : ''}, gRPC (xDS) on ${grpc}, store ${store}`,
        `                 Version: ${packageVersion()}`,
        `                Data dir: ${store}`,
        `                HTTP API: ${httpApi}`,
        `              gRPC (xDS): ${grpc}`,
        `              Datacenter: ${config.datacenter} (primary: ${config.primaryDatacenter})`,
        `Default intention policy: ${config.defaultIntentionPolicy}`,
        `               Log level: ${config.logLevel}`,
        '',
      ].join('\n'),
    );
    const cut = new AbortController();
    const signal = await stopSignals(logger, cut);
    const graceMs = config.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    const grace = formatDuration(graceMs);
    logger.info({ signal, grace }, 'shutting down: refusing new requests, finishing those in flight');
    // The bound holds even if something never lets go: the process ends, and the store (whose
    // every acknowledged write is already durable) is recovered from its WAL at the next start.
    setTimeout(() => {
      logger.error({ grace }, `shutdown did not finish within the grace period plus ${SHUTDOWN_MARGIN_MS} ms; exiting`);
      process.exit(1);
    }, graceMs + SHUTDOWN_MARGIN_MS).unref();
    const { cutRequests } = await agent.close({ graceMs, cut: cut.signal });
    if (cutRequests > 0) {
      const why = cut.signal.aborted ? 'when a second signal came' : `after the ${grace} grace period`;
      logger.warn({ cutRequests }, `${cutRequests} request${cutRequests === 1 ? '' : 's'} still in flight ${why}: connection closed without a reply`);
    }
    logger.info('agent stopped');
    io.stdout('Switchyard agent stopped\n');
    return 0;
  },
};
