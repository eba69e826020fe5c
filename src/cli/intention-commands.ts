// `switchyard intention create/get/list/delete/check`, as Consul's CLI spells them: create
// refuses an existing source -> destination pair unless -replace (Consul's legacy create answers
// 409 for it, so the refusal is the agent's, not a read-then-write race); get and delete take
// SRC DST or an intention ID.
import { ValidationError } from '../core/errors.js';
import { command, enc, positional } from './client-commands.js';
import type { Command } from './command.js';
import { ApiError, type ApiClient } from './http-client.js';
import { table } from './table.js';

interface Intention {
  readonly ID?: string;
  readonly SourceName: string;
  readonly DestinationName: string;
  readonly Action?: string;
  readonly Precedence?: number;
  readonly Description?: string;
  readonly CreatedAt?: string;
  readonly UpdatedAt?: string;
}

/** SRC DST, or one intention ID. */
function target(args: readonly string[]): { path: string; what: string } {
  if (args.length === 2) return { path: `/v1/connect/intentions/exact?source=${enc(args[0] as string)}&destination=${enc(args[1] as string)}`, what: `${args[0]} => ${args[1]}` };
  if (args.length === 1) return { path: `/v1/connect/intentions/${enc(args[0] as string)}`, what: `ID ${args[0]}` };
  throw ValidationError.of('SRC DST', `expected SRC DST or an intention ID, got ${args.length} argument(s)`);
}

function describe(i: Intention): string {
  const rows: [string, string | undefined][] = [
    ['Source:', i.SourceName],
    ['Destination:', i.DestinationName],
    ['Action:', i.Action],
    ['ID:', i.ID],
    ['Description:', i.Description],
    ['Precedence:', i.Precedence === undefined ? undefined : String(i.Precedence)],
    ['Created At:', i.CreatedAt],
  ];
  return table(rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== ''));
}

async function getOne(api: ApiClient, args: readonly string[]): Promise<Intention> {
  const t = target(args);
  try {
    return await api.get<Intention>(t.path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw new Error(`no intention for ${t.what}`);
    throw err;
  }
}

export const intentionCommands: readonly Command[] = [
  command(
    'intention create',
    'Create an intention (allow by default); an existing one is replaced only with -replace',
    '[-allow|-deny] [-replace] [-description TEXT] SRC DST',
    {
      allow: { type: 'bool', help: 'Allow SRC to reach DST (the default)' },
      deny: { type: 'bool', help: 'Deny SRC access to DST' },
      replace: { type: 'bool', help: 'Replace an existing intention for SRC -> DST instead of failing' },
      description: { type: 'string', help: 'A description of the intention' },
    },
    async (api, f, args, io) => {
      const [src, dst] = positional(args, 2, 'SRC DST') as [string, string];
      if (f.allow && f.deny) throw ValidationError.of('-deny', 'cannot be combined with -allow');
      const action = f.deny ? 'deny' : 'allow';
      const body = { SourceName: src, DestinationName: dst, Action: action, ...(f.description ? { Description: f.description } : {}) };
      if (f.replace) await api.put(`/v1/connect/intentions/exact?source=${enc(src)}&destination=${enc(dst)}`, body);
      else {
        try {
          await api.post('/v1/connect/intentions', body);
        } catch (err) {
          if (err instanceof ApiError && err.status === 409) {
            io.stderr(`Error creating intention "${src} => ${dst} (${action})": an intention with source "${src}" and destination "${dst}" already exists; use -replace to replace it\n`);
            return 1;
          }
          throw err;
        }
      }
      io.stdout(`Created: ${src} => ${dst} (${action})\n`);
      return 0;
    },
  ),
  command('intention get', 'Show one intention', 'SRC DST | ID', {}, async (api, _f, args, io) => {
    io.stdout(describe(await getOne(api, args)));
    return 0;
  }),
  command('intention list', 'List every intention', '', {}, async (api, _f, args, io) => {
    positional(args, 0, 'no arguments');
    const all = await api.get<Intention[]>('/v1/connect/intentions');
    if (all.length === 0) {
      io.stdout('There are no intentions.\n');
      return 0;
    }
    io.stdout(table([['ID', 'Source', 'Action', 'Destination', 'Precedence'], ...all.map((i) => [i.ID ?? '', i.SourceName, i.Action ?? '', i.DestinationName, String(i.Precedence ?? '')])]));
    return 0;
  }),
  command('intention delete', 'Delete an intention', 'SRC DST | ID', {}, async (api, _f, args, io) => {
    const t = target(args);
    // By ID, or by pair after checking it exists: deleting nothing is an error, as in Consul.
    const found = await getOne(api, args);
    await api.delete(args.length === 2 ? t.path : `/v1/connect/intentions/${enc(found.ID ?? (args[0] as string))}`);
    io.stdout('Intention deleted.\n');
    return 0;
  }),
  // Consul's exit codes: 0 allowed, 1 denied, 2 when the check itself failed.
  command('intention check', 'Check whether SRC may connect to DST (exit 0 allowed, 1 denied, 2 on an error)', 'SRC DST', {}, async (api, _f, args, io) => {
    const [src, dst] = positional(args, 2, 'SRC DST');
    let allowed: boolean;
    try {
      allowed = (await api.get<{ Allowed: boolean }>(`/v1/connect/intentions/check?source=${enc(src as string)}&destination=${enc(dst as string)}`)).Allowed;
    } catch (err) {
      io.stderr(`Error checking the intention: ${(err as Error).message}\n`);
      return 2;
    }
    io.stdout(allowed ? 'Allowed\n' : 'Denied\n');
    return allowed ? 0 : 1;
  }),
];
