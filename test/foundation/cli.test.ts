import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseFlags } from '../../src/cli/flags.js';

const BIN = new URL('../../../bin/switchyard', import.meta.url).pathname;

describe('bin/switchyard', () => {
  it('prints help listing its commands', () => {
    const r = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: switchyard <command>/);
    assert.match(r.stdout, /version\s+Print the Switchyard version/);
  });

  it('rejects an unknown command with a non-zero exit', () => {
    const r = spawnSync(BIN, ['no-such-command'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown command "no-such-command"/);
  });
});

describe('flags', () => {
  const specs = {
    'http-port': { type: 'int', help: 'port', default: 8500, min: 1, max: 65535 },
    dev: { type: 'bool', help: 'dev' },
    node: { type: 'string', help: 'node' },
  } as const;

  it('parses Consul-style flags, defaults and passthrough', () => {
    const p = parseFlags(specs, ['-dev', '-node=n1', 'pos', '--', '-x']);
    assert.deepEqual(p.flags, { 'http-port': 8500, dev: true, node: 'n1' });
    assert.deepEqual(p.positional, ['pos']);
    assert.deepEqual(p.passthrough, ['-x']);
    assert.equal(parseFlags(specs, ['-http-port', '9000']).flags['http-port'], 9000);
  });

  it('names the flag at fault', () => {
    assert.throws(() => parseFlags(specs, ['-http-port', '70000']), /-http-port: must be at most 65535, got 70000/);
    assert.throws(() => parseFlags(specs, ['-http-port', 'abc']), /-http-port: must be an integer, got "abc"/);
    assert.throws(() => parseFlags(specs, ['-bogus']), /-bogus: unknown flag/);
    assert.throws(() => parseFlags(specs, ['-node']), /-node: needs a value/);
  });
});
