// A plugin's stderr in the agent's log: go-plugin plugins write hclog JSON lines
// (`@level`, `@message`, `@module`, `@timestamp` and the entry's own fields); each becomes an
// entry at its level on a logger carrying the plugin's name. Other lines (a Go panic, a
// plugin's own prints) are kept as they are.
import type { Logger } from '../../core/logger.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Readonly<Record<string, Level>> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error' };

export interface PluginLogEntry {
  readonly level: Level;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** One stderr line as a log entry; undefined for a blank line. */
export function parsePluginLogLine(line: string): PluginLogEntry | undefined {
  const text = line.trimEnd();
  if (text.trim() === '') return undefined;
  if (text.startsWith('{')) {
    try {
      const entry = JSON.parse(text) as Record<string, unknown>;
      const level = LEVELS[String(entry['@level'] ?? '').toLowerCase()];
      if (level) {
        const fields: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(entry)) if (!['@level', '@message', '@timestamp'].includes(k)) fields[k === '@module' ? 'module' : k] = v;
        return { level, message: String(entry['@message'] ?? ''), fields };
      }
    } catch {
      // Not JSON after all: kept as text below.
    }
  }
  // A Go panic is the one thing a plugin writes before it dies: it must stand out.
  return { level: /^(panic:|fatal error:)/.test(text) ? 'error' : 'info', message: text, fields: {} };
}

export function logPluginLine(log: Logger, line: string, extra: Record<string, unknown> = {}): void {
  const entry = parsePluginLogLine(line);
  if (entry) log[entry.level]({ ...entry.fields, ...extra }, entry.message);
}
