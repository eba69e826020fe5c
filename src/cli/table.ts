// Columns padded to their widest cell, two spaces apart, as Consul's CLI prints lists.
export function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}
