#!/usr/bin/env node
// Runs HashiCorp's own Go API client test suite (github.com/hashicorp/consul/api, with its
// sdk/testutil) against Switchyard: the measure of "Consul's clients work unchanged".
//
// The module is fetched through the Go module proxy into .tools (GOPATH, GOMODCACHE and GOCACHE
// all under .tools/go; nothing outside the repository changes), its test binary is compiled once
// and kept per version, and a `consul` launcher is put first on PATH. testutil starts
// `consul agent -config-file F` per test; the launcher translates F (Consul's JSON config) into
// `switchyard agent` flags and a Switchyard config file and runs this repository's agent (dist/) in
// that process. It answers no API request itself; `consul version -format=json` prints a version,
// since testutil asks for one before it starts an agent.
//
// Usage: node scripts/consul-api-suite.mjs [--json FILE] [--run REGEX] [--parallel N]
//   prints pass/fail per group and each failing test's name; --json writes the results.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const API_MODULE = 'github.com/hashicorp/consul/api';
/** The newest api release this machine's Go (1.26.x) builds; v1.35 needs Go 1.27. */
export const API_VERSION = 'v1.34.5';
/**
 * The Consul version the launcher reports (testutil picks its config shape by it, and the tests
 * compare it with the agent node's `consul-version` Meta): the one Switchyard's API follows.
 */
const { CONSUL_API_VERSION: REPORTED_CONSUL_VERSION } = await import(join(root, 'dist/src/catalog/meta.js')).catch(() => ({ CONSUL_API_VERSION: '1.22.0' }));
const dir = join(root, '.tools/consul-api');
const srcDir = join(dir, `api-${API_VERSION}`);
export const TEST_BINARY = join(dir, `api-${API_VERSION}.test`);

/** The groups measured: the api tests of the features Switchyard implements, by name prefix. */
export const GROUPS = [
  { name: 'agent connect', prefix: 'TestAPI_AgentConnect' },
  { name: 'agent services and checks', prefix: 'TestAPI_Agent' },
  { name: 'catalog', prefix: 'TestAPI_Catalog' },
  { name: 'health', prefix: 'TestAPI_Health' },
  { name: 'config entries', prefix: 'TestAPI_ConfigEntr' },
  { name: 'connect CA', prefix: 'TestAPI_ConnectCA' },
  { name: 'intentions', prefix: 'TestAPI_ConnectIntention' },
  { name: 'status', prefix: 'TestAPI_Status' },
];

/** The group a test belongs to: the first whose prefix it has (agent connect before agent). */
export function groupOf(test) {
  return GROUPS.find((g) => test.startsWith(g.prefix))?.name;
}

function goEnv() {
  const go = join(root, '.tools/go');
  return {
    ...process.env,
    GOPATH: join(go, 'path'),
    GOMODCACHE: join(go, 'mod'),
    GOCACHE: join(go, 'cache'),
    GOFLAGS: '-modcacherw',
    GOTOOLCHAIN: 'local',
  };
}

function go(args, cwd) {
  try {
    return execFileSync('go', args, { cwd, env: goEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('the Go toolchain (go, at most 1.26.8) is not on PATH: it builds the Consul api test suite');
    throw new Error(`go ${args.join(' ')} failed in ${cwd}:\n${err.stderr ?? err.message}`);
  }
}

/** Fetches the api module and compiles its tests, once per (api version, Go version). */
export function buildTestBinary() {
  const stamp = join(dir, `.built-${API_VERSION}`);
  const want = `${API_MODULE}@${API_VERSION} ${go(['version'], root).trim()}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && existsSync(TEST_BINARY)) return TEST_BINARY;
  process.stderr.write(`consul-api: fetching ${API_MODULE}@${API_VERSION} and compiling its tests into ${dir}\n`);
  mkdirSync(dir, { recursive: true });
  const fetched = JSON.parse(go(['mod', 'download', '-json', `${API_MODULE}@${API_VERSION}`], dir));
  if (!fetched.Dir) throw new Error(`go mod download gave no folder for ${API_MODULE}@${API_VERSION}: ${fetched.Error ?? JSON.stringify(fetched)}`);
  // A writable copy: the module cache is read-only, and the tests may write beside their sources.
  rmSync(srcDir, { recursive: true, force: true });
  cpSync(fetched.Dir, srcDir, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', srcDir]);
  // Its go.mod pins sdk (testutil) and every other dependency; go.sum verifies them.
  go(['mod', 'download'], srcDir);
  // Built beside and renamed into place: another checkout sharing .tools may be running it.
  go(['test', '-c', '-o', `${TEST_BINARY}.new`, '.'], srcDir);
  renameSync(`${TEST_BINARY}.new`, TEST_BINARY);
  writeFileSync(stamp, want);
  return TEST_BINARY;
}

/** The launcher testutil runs as `consul`; it runs bin/switchyard of this repository in its own process. */
export function writeLauncher(binDir) {
  mkdirSync(binDir, { recursive: true });
  const launcher = join(binDir, 'consul');
  const text = `#!${process.execPath}
// Written by scripts/consul-api-suite.mjs: testutil's \`consul\` -> \`switchyard agent\`.
import { launch } from ${JSON.stringify(join(root, 'scripts/consul-launcher.mjs'))};
await launch(process.argv.slice(2), ${JSON.stringify({ main: join(root, 'dist/src/cli/main.js'), version: REPORTED_CONSUL_VERSION })});
`;
  writeFileSync(launcher, text);
  chmodSync(launcher, 0o755);
  return binDir;
}

/**
 * Reads `go tool test2json` events: each top-level test's outcome and its output (a failure's
 * reason). Subtests count towards their parent only.
 */
export function parseTestEvents(text) {
  const results = new Map();
  const entry = (name) => {
    let r = results.get(name);
    if (!r) results.set(name, (r = { output: [] }));
    return r;
  };
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (!ev.Test) continue;
    const top = ev.Test.split('/')[0];
    const r = entry(top);
    if (ev.Action === 'output') {
      const text = ev.Output.replace(/\s+$/, '');
      if (text && !/^\s*(=== |--- PASS|\[(DEBUG|INFO)\] freeport)/.test(text)) r.output.push(text);
    } else if (['pass', 'fail', 'skip'].includes(ev.Action) && ev.Test === top) {
      r.outcome = ev.Action;
      r.seconds = ev.Elapsed;
    }
  }
  // A test that started and never ended was cut short (a panic elsewhere ends the binary): a failure.
  return [...results].map(([name, r]) => ({
    name,
    group: groupOf(name),
    outcome: r.outcome ?? 'fail',
    seconds: r.seconds,
    output: [...(r.outcome ? [] : ['(did not finish: the test binary exited first)']), ...r.output.filter((l) => !/^\s*(\{"level"|Switchyard agent)/.test(l)).slice(-80)],
  }));
}

export function summarize(tests) {
  return GROUPS.map((g) => {
    const mine = tests.filter((t) => t.group === g.name);
    return {
      group: g.name,
      passed: mine.filter((t) => t.outcome === 'pass').length,
      failed: mine.filter((t) => t.outcome === 'fail').length,
      skipped: mine.filter((t) => t.outcome === 'skip').length,
      failing: mine.filter((t) => t.outcome === 'fail').map((t) => t.name).sort(),
    };
  });
}

/** Runs the groups (or the tests matching `run`) and resolves with every top-level test's outcome. */
export async function runSuite({ run, parallel = 2, timeout = '20m', onLine } = {}) {
  // The agent the launcher runs is this checkout's compiled one.
  if (!existsSync(join(root, 'dist/src/cli/main.js'))) throw new Error('consul-api: dist/ is missing; run npm run build first');
  const binary = buildTestBinary();
  // The launcher names this checkout, so it lives in a folder of this run (.tools may be shared).
  const runDir = mkdtempSync(join(tmpdir(), 'consul-api-run-'));
  const path = writeLauncher(runDir);
  const regex = run ?? `^(${GROUPS.map((g) => g.prefix).join('|')})`;
  const args = ['-test.v=test2json', '-test.count=1', `-test.parallel=${parallel}`, `-test.timeout=${timeout}`, '-test.run', regex];
  const env = { ...process.env, PATH: `${path}:${process.env.PATH}` };
  delete env.CONSUL_HTTP_ADDR;
  delete env.CONSUL_HTTP_TOKEN;
  const child = spawn(binary, args, { cwd: srcDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // test2json turns the binary's framed output into one JSON event per line, each naming its test.
  const events = spawn('go', ['tool', 'test2json', '-t', '-p', API_MODULE], { env: goEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdout.pipe(events.stdin, { end: false });
  child.stderr.pipe(events.stdin, { end: false });
  let out = '';
  events.stdout.on('data', (chunk) => {
    const s = chunk.toString();
    out += s;
    onLine?.(s);
  });
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  events.stdin.end();
  await new Promise((resolve) => events.on('close', resolve));
  rmSync(runDir, { recursive: true, force: true });
  const tests = parseTestEvents(out);
  if (tests.length === 0) throw new Error(`consul-api: the test binary ran no test (exit ${code}):\n${out.slice(-4000)}`);
  // Go's test binary exits 1 when tests fail; anything else (a panic, the timeout) cut the run short.
  if (code !== 0 && code !== 1) process.stderr.write(`consul-api: the test binary exited with ${code}: the run was cut short (see the tests that did not finish)\n`);
  return { apiVersion: API_VERSION, exitCode: code, tests, groups: summarize(tests) };
}

export function formatSummary(result) {
  const lines = [`Consul api ${result.apiVersion} test suite against Switchyard:`];
  let p = 0;
  let n = 0;
  for (const g of result.groups) {
    const total = g.passed + g.failed + g.skipped;
    p += g.passed;
    n += total;
    lines.push(`  ${g.group.padEnd(28)} ${String(g.passed).padStart(3)}/${String(total).padEnd(3)} pass${g.skipped ? ` (${g.skipped} skipped)` : ''}`);
    for (const f of g.failing) lines.push(`      FAIL ${f}`);
  }
  lines.push(`  ${'all'.padEnd(28)} ${String(p).padStart(3)}/${n} pass`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const verbose = argv.includes('-v');
  const result = await runSuite({ run: opt('--run'), parallel: Number(opt('--parallel') ?? 2), onLine: verbose ? (s) => process.stderr.write(s) : undefined });
  const json = opt('--json');
  if (json) writeFileSync(json, JSON.stringify(result, null, 2));
  process.stdout.write(`${formatSummary(result)}\n`);
  if (!verbose) {
    for (const t of result.tests.filter((x) => x.outcome === 'fail')) process.stdout.write(`\n--- ${t.name}\n${t.output.slice(0, 12).join('\n')}\n`);
  }
}
