import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { caFixture, serve } from '../api/ca-fixture.js';

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
  return { code, stdout, stderr };
}

describe('switchyard ca', () => {
  it('gets and sets the configuration and lists roots over HTTP', async () => {
    const { ca, routes } = await caFixture();
    const { server, addr } = await serve(routes);
    const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
    try {
      const got = await run(['ca', 'get-config', '-http-addr', addr]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(JSON.parse(got.stdout).ClusterID, ca.clusterId);

      const file = join(dir, 'ca.json');
      writeFileSync(file, JSON.stringify({ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384 } }));
      const set = await run(['ca', 'set-config', '-http-addr', addr, '-config-file', file]);
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /Configuration updated/);

      const roots = await run(['ca', 'roots', `-http-addr=${addr}`]);
      assert.equal(JSON.parse(roots.stdout).Roots.length, 2);
      const pem = await run(['ca', 'roots', '-http-addr', addr, '-pem']);
      assert.equal(pem.stdout.match(/BEGIN CERTIFICATE/g)?.length, 2);

      writeFileSync(file, JSON.stringify({ Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 1000 } }));
      const bad = await run(['ca', 'set-config', '-http-addr', addr, '-config-file', file]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /-config-file: .*Config\.PrivateKeyBits: rsa keys of 1000 bits are not supported/);
      const missing = await run(['ca', 'set-config', '-http-addr', addr]);
      assert.match(missing.stderr, /-config-file: is required/);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('set-config refuses a malformed file with an error naming the file and the field, and sends nothing', async () => {
    const { ca, routes } = await caFixture();
    const { server, addr } = await serve(routes);
    const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
    try {
      const before = ca.configuration();
      const cases: [string, RegExp][] = [
        ['{"provider":"consul","config":{"PrivateKeyType":"ec","PrivateKeyBits":384}}', /-config-file: .*ca\.json: .*provider: unknown field.*"Provider"/],
        ['[{"Provider":"consul","Config":{}}]', /-config-file: .*ca\.json: .*must be a JSON object/],
        ['{"Provider":"consul"}', /-config-file: .*ca\.json: .*Config: is required/],
        ['{"Provider":"consul","Config":{"LeafCertTTL":"72"}}', /Config\.LeafCertTTL: "72" is not a duration/],
        ['{"Provider":"consul",', /-config-file: cannot read JSON from .*ca\.json/],
        ['', /-config-file: .*ca\.json is empty/],
      ];
      for (const [text, re] of cases) {
        const file = join(dir, 'ca.json');
        writeFileSync(file, text);
        const r = await run(['ca', 'set-config', '-http-addr', addr, '-config-file', file]);
        assert.equal(r.code, 1, text);
        assert.match(r.stderr, re, text);
        assert.doesNotMatch(r.stdout, /Configuration updated/, text);
      }
      assert.deepEqual(ca.configuration(), before);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
