// `switchyard proxy status [ID]` (like `istioctl proxy-status`) and `switchyard proxy config ID`:
// why an Envoy has (or lacks) its configuration, from GET /v1/agent/xds/proxy-status and
// GET /v1/agent/xds/config/:proxy.
import type { ProxyReport } from '../api/xds-status.js';
import { ValidationError } from '../core/errors.js';
import { TypeUrl, type XdsTypeUrl } from '../core/type-urls.js';
import type { StreamStatus } from '../server/status.js';
import type { Command } from './command.js';
import { flagsHelp, parseFlags } from './flags.js';
import { clientFor, HTTP_ADDR_HELP, TOKEN_HELP } from './http-client.js';
import { table } from './table.js';

const FLAGS = {
  'http-addr': { type: 'string', help: HTTP_ADDR_HELP },
  token: { type: 'string', help: TOKEN_HELP },
  format: { type: 'string', help: 'table or json', default: 'table' },
} as const;

/** Columns in xDS send order, named as istioctl and Envoy's stats do. */
const TYPES: readonly (readonly [string, XdsTypeUrl])[] = [
  ['SDS', TypeUrl.Secret],
  ['CDS', TypeUrl.Cluster],
  ['EDS', TypeUrl.Endpoint],
  ['LDS', TypeUrl.Listener],
  ['RDS', TypeUrl.Route],
];

/** One stream's state for a type: SYNCED (the last response sent is acknowledged), NACKED, STALE (sent, not answered yet) or NOT SENT. */
export function typeState(report: ProxyReport, stream: StreamStatus, typeUrl: string): string {
  const t = stream.Types[typeUrl];
  if (!t?.SentNonce) return t && t.AckedVersions > 0 ? 'SYNCED' : 'NOT SENT';
  if (t.SentNonce === t.Nonce) return 'SYNCED';
  const nack = report.Xds?.LastNack;
  if (nack && nack.TypeUrl === typeUrl && nack.Nonce === t.SentNonce) return 'NACKED';
  return 'STALE';
}

function streamsText(r: ProxyReport): string {
  const streams = r.Xds?.Streams ?? [];
  return streams.length === 0 ? 'none' : streams.map((s) => `${s.ID} (${s.Kind})`).join(', ');
}

function summaryTable(reports: readonly ProxyReport[]): string {
  const rows = [['PROXY', 'REGISTERED', 'STREAMS', ...TYPES.map(([n]) => n), 'PROBLEMS']];
  for (const r of reports) {
    const stream = r.Xds?.Streams[0];
    const problems = r.Problems.length + r.UpstreamsWithoutHealthyInstances.length;
    rows.push([
      r.ProxyID,
      r.Registered ? 'yes' : 'NO',
      String(r.Xds?.ConnectedStreams ?? 0),
      ...TYPES.map(([, url]) => (stream ? typeState(r, stream, url) : '-')),
      problems === 0 ? '-' : `${problems} (switchyard proxy status ${r.ProxyID})`,
    ]);
  }
  return table(rows);
}

function detail(r: ProxyReport): string {
  const lines = [
    `Proxy:       ${r.ProxyID}`,
    `Registered:  ${r.Registered ? `yes (${r.Kind || 'typical service'}${r.Service ? ` for ${r.Service}` : ''})` : 'no'}`,
    `Streams:     ${streamsText(r)}`,
  ];
  for (const s of r.Xds?.Streams ?? []) {
    const rows = [['  TYPE', 'SENT (nonce/resources)', 'ACKED (nonce/resources)', 'STATE']];
    for (const [name, url] of TYPES) {
      const t = s.Types[url];
      const sent = t?.SentNonce ? `${t.SentNonce}/${t.SentResources ?? 0}${t.SentVersionInfo ? ` v${t.SentVersionInfo}` : ''}` : '-';
      const acked = t && t.Nonce ? `${t.Nonce}/${t.AckedVersions}${t.VersionInfo ? ` v${t.VersionInfo}` : ''}` : '-';
      rows.push([`  ${name}`, sent, acked, typeState(r, s, url)]);
    }
    lines.push(`Stream ${s.ID}:`, table(rows).trimEnd());
  }
  const nack = r.Xds?.LastNack;
  lines.push(`Last NACK:   ${nack ? `${nack.TypeUrl} nonce ${nack.Nonce} at ${nack.Time}: ${nack.Error}` : 'none'}`);
  if (r.Xds?.Waiting) lines.push(`Waiting:     since ${r.Xds.Waiting.Since}: ${r.Xds.Waiting.Reason}`);
  lines.push(`Problems:    ${r.Problems.length === 0 ? 'none' : ''}`, ...r.Problems.map((p) => `  - ${p}`));
  const empty = r.UpstreamsWithoutHealthyInstances;
  lines.push(`Upstreams with no healthy instance: ${empty.length === 0 ? 'none' : ''}`);
  for (const u of empty) lines.push(`  - ${u.Upstream}: ${u.DestinationName} in ${u.Datacenter} has ${u.Instances === 0 ? 'no instance' : `${u.Instances} instance(s), all critical`}`);
  return `${lines.join('\n')}\n`;
}

function format(raw: string | undefined): 'table' | 'json' {
  if (raw !== 'table' && raw !== 'json') throw ValidationError.of('-format', `must be table or json, got "${raw}"`);
  return raw;
}

export const proxyStatusCommand: Command = {
  name: 'proxy status',
  summary: "Show each proxy's registration, xDS streams, sent vs acknowledged types, NACKs and problems",
  help: `Usage: switchyard proxy status [flags] [PROXY-ID]\n\nWithout an ID, one line per registered or connected proxy; with one, its details.\nExits 2 when a proxy shown has a problem.\n\nFlags:\n${flagsHelp(FLAGS)}`,
  async run(args, io) {
    const { flags, positional } = parseFlags(FLAGS, args);
    const fmt = format(flags.format);
    if (positional.length > 1) throw ValidationError.of('PROXY-ID', `expected at most one proxy ID, got ${positional.length}`);
    const api = clientFor(flags, io.env);
    const id = positional[0];
    const reports = id === undefined ? await api.get<ProxyReport[]>('/v1/agent/xds/proxy-status') : [await api.get<ProxyReport>(`/v1/agent/xds/proxy-status/${encodeURIComponent(id)}`)];
    if (fmt === 'json') io.stdout(`${JSON.stringify(id === undefined ? reports : reports[0], null, 2)}\n`);
    else if (id === undefined) io.stdout(reports.length === 0 ? 'No proxies are registered or connected.\n' : summaryTable(reports));
    else io.stdout(detail(reports[0] as ProxyReport));
    return reports.some((r) => r.Problems.length + r.UpstreamsWithoutHealthyInstances.length > 0) ? 2 : 0;
  },
};

export const proxyConfigCommand: Command = {
  name: 'proxy config',
  summary: 'Print what Switchyard sends a proxy: its resources as canonical JSON (private keys redacted)',
  help: `Usage: switchyard proxy config [flags] PROXY-ID\n\nFlags:\n${flagsHelp({ 'http-addr': FLAGS['http-addr'], token: FLAGS.token })}`,
  async run(args, io) {
    const { flags, positional } = parseFlags({ 'http-addr': FLAGS['http-addr'], token: FLAGS.token }, args);
    if (positional.length !== 1) throw ValidationError.of('PROXY-ID', `expected one proxy ID, got ${positional.length}`);
    const api = clientFor(flags, io.env);
    io.stdout(`${JSON.stringify(await api.get(`/v1/agent/xds/config/${encodeURIComponent(positional[0] as string)}`), null, 2)}\n`);
    return 0;
  },
};
