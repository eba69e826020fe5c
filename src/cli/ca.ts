// `switchyard ca ...`: thin clients of the CA configuration and roots endpoints, after
// `consul connect ca get-config / set-config`.
import { readFileSync } from 'node:fs';
import { parseCAConfigRequest } from '../ca/config.js';
import { errorMessage, ValidationError } from '../core/errors.js';
import type { Command, CommandIO } from './command.js';
import { flagsHelp, noArguments, parseFlags, type FlagSpecs, type ParsedFlags } from './flags.js';
import { clientFor, HTTP_ADDR_HELP, TOKEN_HELP, type ApiClient } from './http-client.js';

const HTTP_ADDR = { type: 'string', help: HTTP_ADDR_HELP } as const;
const TOKEN = { type: 'string', help: TOKEN_HELP } as const;

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** A command that parses its flags, then talks to the agent's HTTP API. */
function apiCommand<S extends FlagSpecs & { 'http-addr': typeof HTTP_ADDR; token: typeof TOKEN }>(
  name: string,
  summary: string,
  specs: S,
  body: (flags: ParsedFlags<S>, api: ApiClient, io: CommandIO) => Promise<void>,
): Command {
  return {
    name,
    summary,
    help: flagsHelp(specs),
    async run(args, io) {
      const { flags, positional } = parseFlags(specs, args);
      noArguments(positional);
      await body(flags, clientFor(flags as { 'http-addr'?: string; token?: string }, io.env), io);
      return 0;
    },
  };
}

export const caGetConfigCommand = apiCommand('ca get-config', 'Print the CA configuration', { 'http-addr': HTTP_ADDR, token: TOKEN }, async (_flags, api, io) => {
  io.stdout(json(await api.get('/v1/connect/ca/configuration')));
});

const setSpecs = {
  'http-addr': HTTP_ADDR,
  token: TOKEN,
  'config-file': { type: 'string', help: 'JSON file with the new configuration ({"Provider":"consul","Config":{...}})' },
} as const;

export const caSetConfigCommand = apiCommand('ca set-config', 'Change the CA configuration (a new key type rotates the root)', setSpecs, async (flags, api, io) => {
  const file = flags['config-file'];
  if (!file) throw ValidationError.of('-config-file', 'is required');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw ValidationError.of('-config-file', `cannot read ${file}: ${errorMessage(err)}`);
  }
  if (text.trim() === '') throw ValidationError.of('-config-file', `${file} is empty; it must hold the CA configuration as JSON ({"Provider":"consul","Config":{...}})`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw ValidationError.of('-config-file', `cannot read JSON from ${file}: ${errorMessage(err)}`);
  }
  // The agent's own rule, checked before anything is sent: a malformed file names its field here.
  try {
    parseCAConfigRequest(body);
  } catch (err) {
    throw ValidationError.of('-config-file', `${file}: ${errorMessage(err)}`);
  }
  await api.put('/v1/connect/ca/configuration', body);
  io.stdout('Configuration updated!\n');
});

const rootsSpecs = { 'http-addr': HTTP_ADDR, token: TOKEN, pem: { type: 'bool', help: 'Print the roots as a PEM bundle' } } as const;

export const caRootsCommand = apiCommand('ca roots', 'Print the published CA roots', rootsSpecs, async (flags, api, io) => {
  io.stdout(flags.pem ? await api.get<string>('/v1/connect/ca/roots?pem=true') : json(await api.get('/v1/connect/ca/roots')));
});

/** Consul's spelling (`consul connect ca get-config`), beside Switchyard's shorter `ca ...`. */
const consulSpelling = (c: Command): Command => ({ ...c, name: `connect ${c.name}` });

export const CA_COMMANDS: readonly Command[] = [caGetConfigCommand, caSetConfigCommand, caRootsCommand, consulSpelling(caGetConfigCommand), consulSpelling(caSetConfigCommand)];
