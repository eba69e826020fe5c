// A Logger that records every entry with its child bindings merged in, for assertions on logs.
import type { LogFn, Logger } from '../../src/core/logger.js';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

export function recordingLogger(entries: LogEntry[] = [], bindings: Record<string, unknown> = {}): Logger & { entries: LogEntry[] } {
  const at =
    (level: LogEntry['level']): LogFn =>
    (a: string | Record<string, unknown>, b?: string) => {
      const [fields, msg] = typeof a === 'string' ? [{}, a] : [a, b ?? ''];
      entries.push({ level, msg, fields: { ...bindings, ...fields } });
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(entries, { ...bindings, ...more }),
  };
}
