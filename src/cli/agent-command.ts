// `switchyard agent`: runs the agent until SIGTERM or SIGINT, then shuts down gracefully
// (stops accepting requests, lets those in flight finish, closes the store).
import { pino } from 'pino';
import type { Logger } from '../core/logger.js';
import { DEFAULTS, resolveConfig } from './agent-config.js';
import { startAgent } from './agent.js';
import type { Command } from './command.js';
import { flagsHelp, noArguments, parseFlags } from './flags.js';

const FLAGS = {
  dev: { type: 'bool', help: 'Development mode: in-memory store, local defaults' },
  'data-dir': { type: 'string', help: 'Folder of the durable store (SQLite, WAL)' },
  'http-port': { type: 'int', help: `HTTP API port (default ${DEFAULTS.httpPort})`, min: 0, max: 65535 },
  'grpc-port': { type: 'int', help: `gRPC (xDS) port (default ${DEFAULTS.grpcPort})`, min: 0, max: 65535 },
  bind: { type: 'string', help: `Address to bind to (default ${DEFAULTS.bind})` },
  datacenter: { type: 'string', help: `Datacenter name (default ${DEFAULTS.datacenter})` },
  node: { type: 'string', help: 'Node name (default: the host name)' },
  'config-file': { type: 'string', help: 'JSON config file (flags take precedence)' },
} as const;

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the Switchyard agent (catalog, HTTP API, health checks)',
  help: `Flags:\n${flagsHelp(FLAGS)}`,
  async run(args, io) {
    const { flags, positional } = parseFlags(FLAGS, args);
    noArguments(positional);
    const config = resolveConfig(flags);
    const logger = pino({ level: config.logLevel, base: { node: config.node } }, pino.destination(2)) as unknown as Logger;
    const agent = await startAgent(config, { logger });
    logger.info({ http: agent.httpAddress, dataDir: config.dataDir ?? '(in memory)', datacenter: config.datacenter }, 'agent started');
    io.stdout(`Switchyard agent running: node ${config.node}, datacenter ${config.datacenter}, HTTP on ${agent.httpAddress}, gRPC (xDS) on ${config.bind}:${agent.xds.port}, store ${config.dataDir ?? 'in memory (-dev)'}\n`);
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    logger.info({ signal }, 'shutting down');
    await agent.close();
    io.stdout('Switchyard agent stopped\n');
    return 0;
  },
};
