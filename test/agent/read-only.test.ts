// A data dir on a read-only file system: the agent refuses to start and says what is wrong, and
// with which path. The file system is a real read-only mount, made in a private mount namespace
// (`unshare -rm`, which needs no privileges where user namespaces are enabled), so nothing on
// the machine changes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore } from '../../src/store/sqlite.js';
import { BIN } from '../support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-ro-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `mount` commands and then the agent on `dataDir`, in a mount namespace of its own; the agent's exit code and stderr. */
function agentOnMount(mounts: string, dataDir: string): { status: number | null; stderr: string } {
  const agent = `exec ${process.execPath} ${BIN} agent -data-dir ${dataDir} -http-port 0 -grpc-port 0`;
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', `${mounts} && ${agent}`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `unshare could not run: ${String(r.error)}`);
  assert.doesNotMatch(r.stderr, /unshare:|mount:/, 'the read-only mount was made');
  return { status: r.status, stderr: r.stderr };
}

describe('a data dir on a read-only file system', () => {
  it('is refused at startup naming the read-only path, when the data dir does not exist yet', () => {
    const mnt = join(dir, 'empty');
    const r = agentOnMount(`mkdir -p ${mnt} && mount -t tmpfs -o ro tmpfs ${mnt}`, join(mnt, 'data'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`cannot create the data dir ${mnt}/data: ${mnt} is on a read-only file system`));
    assert.doesNotMatch(r.stderr, /ENOENT/);
  });

  it('is refused at startup naming the database file, when it holds a store', () => {
    const data = join(dir, 'held');
    openStore(data).close();
    const r = agentOnMount(`mount --bind ${data} ${data} && mount -o remount,bind,ro ${data}`, data);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`cannot open the database ${data}/switchyard.db for writing: ${data}/switchyard.db is on a read-only file system`));
  });
});
