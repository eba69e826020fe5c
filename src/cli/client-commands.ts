// Thin client commands over a running agent's HTTP API.
import { readFileSync } from 'node:fs';
import { ValidationError, errorMessage } from '../core/errors.js';
import type { Command, CommandIO } from './command.js';
import { dryRunText, type DryRunReport } from './dry-run-text.js';
import { flagsHelp, noArguments, parseFlags, type FlagSpecs, type ParsedFlags } from './flags.js';
import { clientFor, HTTP_ADDR_HELP, TOKEN_HELP, type ApiClient } from './http-client.js';

/** The flags every client command takes: where the agent is, and the ACL token. */
const HTTP_ADDR = { 'http-addr': { type: 'string', help: HTTP_ADDR_HELP }, token: { type: 'string', help: TOKEN_HELP } } as const;

function readJsonFile(path: string | undefined, what: string): unknown {
  if (!path) throw ValidationError.of(what, 'a JSON file is required');
  try {
    return JSON.parse(readFileSync(path === '-' ? 0 : path, 'utf8'));
  } catch (err) {
    throw ValidationError.of(what, `cannot read ${path} as JSON: ${errorMessage(err)}`);
  }
}

export function positional(list: readonly string[], count: number, names: string): string[] {
  if (list.length !== count) throw ValidationError.of(names, `expected ${count} argument(s) (${names}), got ${list.length}`);
  return [...list];
}

export function command<S extends FlagSpecs>(
  name: string,
  summary: string,
  usage: string,
  specs: S,
  fn: (api: ApiClient, flags: ParsedFlags<S & typeof HTTP_ADDR>, args: readonly string[], io: CommandIO) => Promise<number>,
): Command {
  const all = { ...HTTP_ADDR, ...specs } as S & typeof HTTP_ADDR;
  return {
    name,
    summary,
    help: `Usage: switchyard ${name} ${usage}\n\nFlags:\n${flagsHelp(all)}`,
    run(args, io) {
      const { flags, positional: rest } = parseFlags(all, args);
      return fn(clientFor(flags as { 'http-addr'?: string; token?: string }, io.env), flags, rest, io);
    },
  };
}

export const enc = encodeURIComponent;
export const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
const kindAndName = {
  kind: { type: 'string', help: 'Config entry kind' },
  name: { type: 'string', help: 'Config entry name' },
} as const;

function need(value: string | undefined, flag: string): string {
  if (!value) throw ValidationError.of(`-${flag}`, 'is required');
  return value;
}

export const clientCommands: readonly Command[] = [
  command('services register', 'Register a service (and its sidecar) from a JSON file', 'FILE', {}, async (api, _f, args, io) => {
    const [file] = positional(args, 1, 'FILE');
    const body = readJsonFile(file, 'FILE');
    await api.put('/v1/agent/service/register', body);
    io.stdout(`Registered service: ${String((body as { Name?: unknown }).Name)}\n`);
    return 0;
  }),
  command('services deregister', 'Deregister a service (and its sidecar) by ID', 'ID', {}, async (api, _f, args, io) => {
    const [id] = positional(args, 1, 'ID');
    await api.put(`/v1/agent/service/deregister/${enc(id as string)}`);
    io.stdout(`Deregistered service: ${id}\n`);
    return 0;
  }),
  command(
    'config write',
    'Write a config entry from a JSON file (-dry-run: show what it would change, storing nothing)',
    '[-dry-run [-format text|json]] FILE',
    {
      'dry-run': { type: 'bool', help: 'Store nothing: list the proxies whose resources the write would change, and the resource-level diff for each' },
      format: { type: 'string', help: 'With -dry-run: text or json', default: 'text' },
    },
    async (api, f, args, io) => {
      const [file] = positional(args, 1, 'FILE');
      const body = readJsonFile(file, 'FILE') as { Kind?: unknown; Name?: unknown };
      if (f.format !== 'text' && f.format !== 'json') throw ValidationError.of('-format', `must be text or json, got "${f.format}"`);
      if (!f['dry-run']) {
        await api.put('/v1/config', body);
        io.stdout(`Config entry written: ${String(body.Kind)}/${String(body.Name)}\n`);
        return 0;
      }
      const report = await api.put<DryRunReport>('/v1/config?dry-run=true', body);
      io.stdout(f.format === 'json' ? json(report) : dryRunText(report));
      return 0;
    },
  ),
  command('config read', 'Print a config entry', '-kind KIND -name NAME', kindAndName, async (api, f, args, io) => {
    noArguments(args);
    io.stdout(json(await api.get(`/v1/config/${enc(need(f.kind, 'kind'))}/${enc(need(f.name, 'name'))}`)));
    return 0;
  }),
  command('config list', 'List the names of the config entries of a kind', '-kind KIND', { kind: kindAndName.kind }, async (api, f, args, io) => {
    noArguments(args);
    const entries = await api.get<{ Name: string }[]>(`/v1/config/${enc(need(f.kind, 'kind'))}`);
    io.stdout(entries.map((e) => `${e.Name}\n`).join(''));
    return 0;
  }),
  command('config delete', 'Delete a config entry', '-kind KIND -name NAME', kindAndName, async (api, f, args, io) => {
    noArguments(args);
    const kind = need(f.kind, 'kind');
    const name = need(f.name, 'name');
    await api.delete(`/v1/config/${enc(kind)}/${enc(name)}`);
    io.stdout(`Config entry deleted: ${kind}/${name}\n`);
    return 0;
  }),
];
