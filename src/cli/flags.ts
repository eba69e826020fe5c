// Consul-style flags (`-name value`, `-name=value`, `--name`), declared per command and
// validated up front: a bad flag is an error naming it, and the command does nothing.
import { ValidationError } from '../core/errors.js';

export type FlagSpec =
  | { readonly type: 'string'; readonly help: string; readonly default?: string }
  | { readonly type: 'int'; readonly help: string; readonly default?: number; readonly min?: number; readonly max?: number }
  | { readonly type: 'bool'; readonly help: string }
  /** A string flag that may be given more than once (`-retry-join-wan A -retry-join-wan B`), in order. */
  | { readonly type: 'strings'; readonly help: string };

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type ValueOf<S extends FlagSpec> = S extends { type: 'int' } ? number : S extends { type: 'bool' } ? boolean : S extends { type: 'strings' } ? string[] : string;

export type ParsedFlags<S extends FlagSpecs> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

export interface Parsed<S extends FlagSpecs> {
  readonly flags: ParsedFlags<S>;
  readonly positional: readonly string[];
  /** Arguments after a bare `--`, passed through untouched. */
  readonly passthrough: readonly string[];
}

export function parseFlags<S extends FlagSpecs>(specs: S, argv: readonly string[]): Parsed<S> {
  const flags: Record<string, unknown> = {};
  const positional: string[] = [];
  let passthrough: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if ((spec.type === 'string' || spec.type === 'int') && spec.default !== undefined) flags[name] = spec.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      passthrough = argv.slice(i + 1) as string[];
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    // Own keys only: a plain lookup also finds Object.prototype's members (-constructor, -valueOf).
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) throw ValidationError.of(`-${name}`, 'unknown flag');
    if (spec.type === 'bool') {
      flags[name] = eq < 0 ? true : parseBool(name, body.slice(eq + 1));
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = body.slice(eq + 1);
    else raw = argv[++i];
    if (raw === undefined) throw ValidationError.of(`-${name}`, 'needs a value');
    if (spec.type === 'strings') flags[name] = [...((flags[name] as string[] | undefined) ?? []), raw];
    else flags[name] = spec.type === 'int' ? parseInt(name, spec, raw) : raw;
  }
  return { flags: flags as ParsedFlags<S>, positional, passthrough };
}

/**
 * For a command that takes flags only: a stray word (a flag typed without its dash, a value
 * whose flag is missing) is an error naming it, not silently dropped while the command runs.
 */
export function noArguments(positional: readonly string[], hint = 'this command takes flags only'): void {
  const [first] = positional;
  if (first !== undefined) throw ValidationError.of(JSON.stringify(first), `unexpected argument (${hint})`);
}

function parseBool(name: string, raw: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw ValidationError.of(`-${name}`, `must be true or false, got "${raw}"`);
}

function parseInt(name: string, spec: { min?: number; max?: number }, raw: string): number {
  if (!/^-?\d+$/.test(raw)) throw ValidationError.of(`-${name}`, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (spec.min !== undefined && n < spec.min) throw ValidationError.of(`-${name}`, `must be at least ${spec.min}, got ${n}`);
  if (spec.max !== undefined && n > spec.max) throw ValidationError.of(`-${name}`, `must be at most ${spec.max}, got ${n}`);
  return n;
}

export function flagsHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const def = (s.type === 'string' || s.type === 'int') && s.default !== undefined ? ` (default ${s.default})` : '';
      const value = s.type === 'bool' ? '' : s.type === 'strings' ? ' <string> (repeatable)' : ` <${s.type}>`;
      return `  -${name}${value}\n      ${s.help}${def}`;
    })
    .join('\n');
}
