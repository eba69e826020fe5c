// What the durable store checks before it serves a data dir, so that damaged storage is never
// loaded silently: the database passes SQLite's own check, and it holds at least every write
// the data dir ever acknowledged.
//
// The second needs a witness outside the database: SQLite drops the frames of a truncated or
// corrupted WAL without a word (and a zeroed or emptied file is a valid empty database), so the
// store could only ever see what is left. The witness is a marker file next to the database
// holding the highest index acknowledged; it is rewritten after each commit has been made
// durable (not itself fsynced: after a crash of the process it holds the last acknowledged
// index, after a power loss at most an older one, so it is never ahead of the database).
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/** A data dir that must not be served as it is; the message says what is wrong and how to proceed. */
export class StoreDamagedError extends Error {
  override readonly name = 'StoreDamagedError';
}

/** The flag (and config key) that starts deliberately from what is left. */
export const ACCEPT_LOSS_FLAG = '-accept-store-loss';

/** How to proceed, for a message about `dbPath`. */
export function howToProceed(dbPath: string, fresh: boolean): string {
  const start = fresh
    ? `or start ${ACCEPT_LOSS_FLAG} to move the damaged files aside (kept as ${dbPath}.damaged-<time>) and begin a new cluster with a new CA and trust domain`
    : `or start with ${ACCEPT_LOSS_FLAG} to serve what the database still holds (the missing writes are lost)`;
  return `restore the data dir from a backup (with the agent stopped), ${start}`;
}

/** The marker: `{"index":N}` padded to a fixed width, rewritten in place. */
const MARKER_BYTES = 64;

export class IndexMarker {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  /** The acknowledged index the marker holds; 0 when there is none (a new data dir, or one from before markers). */
  read(): number {
    if (!existsSync(this.path)) return 0;
    const text = readFileSync(this.path, 'utf8').trim();
    try {
      const index = (JSON.parse(text) as { index?: unknown }).index;
      if (typeof index === 'number' && Number.isSafeInteger(index) && index >= 0) return index;
    } catch {
      // Reported below: a marker that cannot be read says nothing about what was acknowledged.
    }
    throw new StoreDamagedError(`the index marker ${this.path} cannot be read (${JSON.stringify(text.slice(0, 80))}); check the data dir, or remove the marker to trust the database as it is`);
  }

  write(index: number): void {
    this.fd ??= openSync(this.path, existsSync(this.path) ? 'r+' : 'w+', 0o600);
    writeSync(this.fd, JSON.stringify({ index }).padEnd(MARKER_BYTES - 1, ' ') + '\n', 0);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Moves the database and its WAL aside; the new name of the database. */
export function moveAside(dbPath: string, now = new Date()): string {
  const aside = `${dbPath}.damaged-${now.toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, aside + suffix);
  return aside;
}
