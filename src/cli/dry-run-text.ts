// How `config write -dry-run` prints its report: per proxy, each resource added, removed or
// changed, and for a changed one the JSON fields that differ (path: before -> after).
import type { DryRunReport } from './dry-run.js';

export type { DryRunReport };

/** Leaf values of a JSON value by path (`a.b[0].c`). */
function flatten(value: unknown, path = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(path, '[]');
    value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) out.set(path, '{}');
    for (const [k, v] of entries) flatten(v, path ? `${path}.${k}` : k, out);
  } else out.set(path, JSON.stringify(value));
  return out;
}

/** The fields that differ between two JSON values, one line each. */
export function fieldDiff(before: unknown, after: unknown): string[] {
  const a = flatten(before);
  const b = flatten(after);
  const lines: string[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === y) continue;
    lines.push(x === undefined ? `+ ${path}: ${y}` : y === undefined ? `- ${path}: ${x}` : `~ ${path}: ${x} -> ${y}`);
  }
  return lines;
}

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

export function dryRunText(r: DryRunReport): string {
  const entry = `${r.Kind}/${r.Name}`;
  const lines = [`Dry run of ${entry}: nothing was stored.${r.WouldWrite ? '' : ' (The write would not be stored: its -cas index is stale.)'}`];
  if (r.Proxies.length === 0) lines.push(`No proxy's resources would change (${r.Unchanged} proxies checked).`);
  else lines.push(`${r.Proxies.length} proxy(ies) would change, ${r.Unchanged} would not:`);
  for (const p of r.Proxies) {
    lines.push('', `${p.ProxyID}:`);
    for (const problem of p.Problems) lines.push(`  ! would get no new configuration: ${problem}`);
    for (const c of p.Changes) {
      lines.push(`  ${SIGN[c.Change]} ${c.TypeUrl.split('.').pop()} ${c.Name} (${c.Change})`);
      if (c.Change === 'changed') for (const l of fieldDiff(c.Before, c.After)) lines.push(`      ${l}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
