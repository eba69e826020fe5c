// Access logs from proxy-defaults AccessLogs (Consul's names and defaults): every HTTP connection
// manager and tcp_proxy logs each request or connection; unless DisableListenerLogs, each
// listener also logs the connections no filter chain took (response flag NR). To stdout by
// default, stderr, or a file; Consul's default JSON format unless JSONFormat or TextFormat is set.
import { pack } from '../core/proto.js';
import type { AccessLog } from '../gen/envoy/config/accesslog/v3/accesslog.js';
import type { SubstitutionFormatString } from '../gen/envoy/config/core/v3/substitution_format_string.js';
import { FileAccessLog } from '../gen/envoy/extensions/access_loggers/file/v3/file.js';
import { StderrAccessLog, StdoutAccessLog } from '../gen/envoy/extensions/access_loggers/stream/v3/stream.js';
import type { AccessLogSettings } from '../proxycfg/snapshot.js';

/** Consul's default access log line (agent/xds/accesslogs), as JSON. */
const DEFAULT_JSON_FORMAT: Record<string, string> = {
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
};

function logFormat(s: AccessLogSettings): SubstitutionFormatString {
  const format: SubstitutionFormatString['format'] = s.textFormat
    ? { $case: 'textFormatSource', value: { specifier: { $case: 'inlineString', value: s.textFormat }, watchedDirectory: undefined } }
    : { $case: 'jsonFormat', value: s.jsonFormat ? (JSON.parse(s.jsonFormat) as Record<string, unknown>) : DEFAULT_JSON_FORMAT };
  return { format, omitEmptyValues: false, contentType: '', formatters: [] } as SubstitutionFormatString;
}

function sink(s: AccessLogSettings): AccessLog['configType'] {
  const accessLogFormat = { $case: 'logFormat' as const, value: logFormat(s) };
  switch (s.type) {
    case 'file':
      return { $case: 'typedConfig', value: pack(FileAccessLog, FileAccessLog.fromPartial({ path: s.path ?? '', accessLogFormat })) };
    case 'stderr':
      return { $case: 'typedConfig', value: pack(StderrAccessLog, StderrAccessLog.fromPartial({ accessLogFormat })) };
    case 'stdout':
      return { $case: 'typedConfig', value: pack(StdoutAccessLog, StdoutAccessLog.fromPartial({ accessLogFormat })) };
  }
}

const LOGGER_NAMES = { file: 'envoy.access_loggers.file', stderr: 'envoy.access_loggers.stderr', stdout: 'envoy.access_loggers.stdout' } as const;

/** The access logs of an HTTP connection manager or tcp_proxy (none when logging is off). */
export function filterAccessLogs(s: AccessLogSettings | undefined): AccessLog[] {
  if (!s) return [];
  return [{ name: LOGGER_NAMES[s.type], filter: undefined, configType: sink(s) }];
}

/** A listener's own access log: the connections no filter chain matched (none when off or DisableListenerLogs). */
export function listenerAccessLogs(s: AccessLogSettings | undefined): AccessLog[] {
  if (!s || s.disableListenerLogs) return [];
  return [{ name: LOGGER_NAMES[s.type], filter: { filterSpecifier: { $case: 'responseFlagFilter', value: { flags: ['NR'] } } }, configType: sink(s) }];
}
