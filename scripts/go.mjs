// The Go toolchain as this repository's build scripts use it: modules and build caches under
// .tools/go (nothing outside the repository), the machine's own Go (no toolchain download), and
// a hash of a source folder plus the Go version to tell when a cached build is stale.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function goEnv() {
  const go = join(root, '.tools/go');
  return { ...process.env, GOMODCACHE: join(go, 'mod'), GOCACHE: join(go, 'cache'), GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local' };
}

/** Runs `go ARGS` in `cwd`; `purpose` says what Go is needed for when it is missing. */
export function runGo(args, cwd, purpose) {
  try {
    return execFileSync('go', args, { cwd, env: goEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error(`the Go toolchain (go) is not on PATH: it builds ${purpose}`);
    throw new Error(`go ${args.join(' ')} failed in ${cwd}:\n${err.stderr ?? err.message}`);
  }
}

/** sha256 of the Go version, every file of `dir` (by name) and any `extra` contents. */
export function goInputsHash(dir, purpose, extra = []) {
  const h = createHash('sha256');
  h.update(runGo(['version'], dir, purpose));
  for (const f of readdirSync(dir).sort()) h.update(`${f}\0`).update(readFileSync(join(dir, f)));
  for (const e of extra) h.update(e);
  return h.digest('hex');
}
