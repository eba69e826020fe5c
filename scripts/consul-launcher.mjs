// The `consul` that Consul's sdk/testutil starts, for scripts/consul-api-suite.mjs: it turns
// `consul agent -config-file F [-config-file G ...]` into `switchyard agent` and then runs that
// agent in this same process (so testutil's SIGINT reaches the agent itself). It answers no API
// request: everything the tests see comes from Switchyard. `consul version -format=json` prints
// the version testutil asks for before it writes a config.
//
// Consul's JSON config keys are translated where Switchyard has the setting (ports.http,
// ports.grpc, node_name, node_id, datacenter, primary_datacenter, data_dir, bind_addr, node_meta,
// log_level, connect.ca_config.cluster_id); the rest (serf and raft ports, TLS files, ACLs,
// peering, performance) have no counterpart and are left out.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error']);

/** Consul's config files, merged left to right as Consul does for the keys translated here. */
export function mergeConsulConfigs(files) {
  const merged = {};
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (text.trim() === '') continue;
    const cfg = JSON.parse(text);
    for (const [k, v] of Object.entries(cfg)) {
      merged[k] = v && typeof v === 'object' && !Array.isArray(v) && merged[k] && typeof merged[k] === 'object' ? { ...merged[k], ...v } : v;
    }
  }
  return merged;
}

/** Switchyard's flags and config file for a Consul config. */
export function translate(cfg) {
  const flags = [];
  const file = {};
  if (cfg.ports?.http !== undefined) flags.push('-http-port', String(cfg.ports.http));
  if (cfg.ports?.grpc !== undefined) flags.push('-grpc-port', String(cfg.ports.grpc));
  if (cfg.node_name) flags.push('-node', cfg.node_name);
  if (cfg.datacenter) flags.push('-datacenter', cfg.datacenter);
  if (cfg.primary_datacenter) flags.push('-primary-datacenter', cfg.primary_datacenter);
  if (cfg.data_dir) flags.push('-data-dir', cfg.data_dir);
  if (cfg.bind_addr) flags.push('-bind', cfg.bind_addr);
  if (cfg.node_id) file.node_id = cfg.node_id;
  if (cfg.node_meta && Object.keys(cfg.node_meta).length > 0) file.node_meta = cfg.node_meta;
  if (cfg.log_level && LOG_LEVELS.has(cfg.log_level.toLowerCase())) file.log_level = cfg.log_level.toLowerCase();
  const clusterId = cfg.connect?.ca_config?.cluster_id;
  if (clusterId) file.connect = { ca_config: { cluster_id: clusterId } };
  return { flags, file };
}

export async function launch(args, { main, version }) {
  if (args[0] === 'version') {
    process.stdout.write(`${JSON.stringify({ Version: version, Revision: '', Prerelease: '', FIPS: '', BuildDate: '' })}\n`);
    return;
  }
  if (args[0] !== 'agent') {
    process.stderr.write(`consul launcher: only "agent" and "version" are translated, not: ${args.join(' ')}\n`);
    process.exit(1);
  }
  const files = [];
  for (let i = 1; i < args.length; i++) if (args[i] === '-config-file') files.push(args[++i]);
  if (files.length === 0) {
    process.stderr.write('consul launcher: agent needs -config-file\n');
    process.exit(1);
  }
  const { flags, file } = translate(mergeConsulConfigs(files));
  const own = join(dirname(files[0]), 'switchyard.json');
  writeFileSync(own, JSON.stringify(file));
  const { main: run } = await import(main);
  process.exitCode = await run(['agent', '-config-file', own, ...flags], {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  });
}
