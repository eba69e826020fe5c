// The composition root's entry: picks a command by its words and runs it.
import { errorMessage, ValidationError } from '../core/errors.js';
import type { Command, CommandIO } from './command.js';
import { COMMANDS } from './commands.js';

export function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: switchyard <command> [flags]',
    '',
    'Switchyard is an Envoy xDS control plane with a service catalog, intentions and a SPIFFE CA.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `switchyard <command> -help` for a command\'s flags.',
    '',
  ].join('\n');
}

/** Longest match of command words at the head of argv. */
export function findCommand(commands: readonly Command[], argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

const HELP = ['-h', '-help', '--help'];

/** The commands under a group's words (`intention`, `connect ca`), if `argv` names a group: its words then nothing or -help. */
function findGroup(commands: readonly Command[], argv: readonly string[]): { words: string; members: Command[] } | undefined {
  const words = argv.filter((a) => !HELP.includes(a));
  if (words.length === 0 || words.some((w) => w.startsWith('-'))) return undefined;
  const prefix = `${words.join(' ')} `;
  const members = commands.filter((c) => c.name.startsWith(prefix));
  return members.length > 0 ? { words: words.join(' '), members } : undefined;
}

function groupUsage(words: string, members: readonly Command[]): string {
  const width = Math.max(...members.map((c) => c.name.length - words.length - 1));
  return [`Usage: switchyard ${words} <subcommand> [flags]`, '', 'Subcommands:', ...members.map((c) => `  ${c.name.slice(words.length + 1).padEnd(width)}  ${c.summary}`), '', `Run \`switchyard ${words} <subcommand> -help\` for its flags.`, ''].join('\n');
}

export async function main(argv: readonly string[], io: CommandIO): Promise<number> {
  const first = argv[0];
  if (first === undefined || [...HELP, 'help'].includes(first)) {
    io.stdout(usage(COMMANDS));
    return first === undefined ? 1 : 0;
  }
  const found = findCommand(COMMANDS, argv);
  const group = found ? undefined : findGroup(COMMANDS, argv);
  if (group) {
    const asked = argv.some((a) => HELP.includes(a));
    (asked ? io.stdout : io.stderr)(groupUsage(group.words, group.members));
    return asked ? 0 : 1;
  }
  if (!found) {
    io.stderr(`switchyard: unknown command "${argv.join(' ')}"\n\n${usage(COMMANDS)}`);
    return 1;
  }
  if (found.rest.some((a) => ['-h', '-help', '--help'].includes(a))) {
    io.stdout(`Usage: switchyard ${found.command.name} [flags]\n\n${found.command.summary}\n${found.command.help ? `\n${found.command.help}\n` : ''}`);
    return 0;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (err) {
    const prefix = err instanceof ValidationError ? 'invalid input' : 'error';
    io.stderr(`switchyard ${found.command.name}: ${prefix}: ${errorMessage(err)}\n`);
    return 1;
  }
}
