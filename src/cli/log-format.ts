// Logs for people: on a terminal the agent's pino JSON lines are printed as
// `14:20:29.123 INFO  message  key=value ...`; elsewhere (files, collectors) they stay JSON.
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line carries that a person does not need repeated. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON line as a human-readable one (a line that is not JSON is kept as it is). */
export function humanLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const level = (LEVELS[rec.level as number] ?? String(rec.level)).padEnd(5);
  const fields = Object.entries(rec).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) => `${k}=${value(v)}`);
  return `${time} ${level} ${String(rec.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}

/** A pino destination writing human-readable lines through `write`. */
export function humanLogStream(write: (text: string) => void): { write(chunk: string): void } {
  return { write: (chunk) => chunk.split('\n').filter((l) => l !== '').forEach((l) => write(humanLine(l))) };
}
