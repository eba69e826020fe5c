import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_KINDS, validateConfigEntry } from '../../src/catalog/config/kinds.js';

// One entry per kind using most of its fields, as an operator would write it.
const VALID: Record<string, Record<string, unknown>> = {
  'proxy-defaults': {
    Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' }, Mode: 'direct', MutualTLSMode: 'strict',
    TransparentProxy: { OutboundListenerPort: 0, DialedDirectly: false }, MeshGateway: { Mode: 'local' },
    Expose: { Checks: false, Paths: [{ ListenerPort: 21500, Path: '/health', LocalPathPort: 8080, Protocol: 'http' }] },
    AccessLogs: { Enabled: true, Type: 'file', Path: '/var/log/envoy.log', JSONFormat: '{"a":"%START_TIME%"}' },
    EnvoyExtensions: [], Meta: { team: 'a' },
  },
  'service-defaults': {
    Kind: 'service-defaults', Name: 'web', Protocol: 'http', Mode: 'direct', ExternalSNI: '',
    UpstreamConfig: {
      Defaults: { ConnectTimeoutMs: 5000, Limits: { MaxConnections: 10 }, PassiveHealthCheck: { Interval: '10s', MaxFailures: 3 }, BalanceOutboundConnections: 'exact_balance' },
      Overrides: [{ Name: 'db', Protocol: 'tcp', MeshGateway: { Mode: 'remote' } }],
    },
    Expose: { Paths: [{ ListenerPort: 21500, Path: '/health', LocalPathPort: 8080 }] },
    MaxInboundConnections: 100, LocalConnectTimeoutMs: 1000, LocalRequestTimeoutMs: 2000, BalanceInboundConnections: 'exact_balance', RateLimits: {},
  },
  'service-intentions': { Kind: 'service-intentions', Name: 'db', Sources: [{ Name: 'web', Action: 'allow' }, { Name: 'api', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/v1', Methods: ['GET'] } }] }] },
  'service-router': {
    Kind: 'service-router', Name: 'web',
    Routes: [{ Match: { HTTP: { PathPrefix: '/admin', Header: [{ Name: 'x-debug', Present: true }], QueryParam: [{ Name: 'v', Exact: '2' }], Methods: ['GET', 'POST'] } }, Destination: { Service: 'admin', PrefixRewrite: '/', RequestTimeout: '5s', NumRetries: 3, RetryOn: ['5xx'], RetryOnStatusCodes: [503] } }],
  },
  'service-splitter': { Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 33.33, ServiceSubset: 'v1' }, { Weight: 33.33, ServiceSubset: 'v2' }, { Weight: 33.34, ServiceSubset: 'v3' }] },
  'service-resolver': {
    Kind: 'service-resolver', Name: 'web', DefaultSubset: 'v1', Subsets: { v1: { Filter: 'Service.Meta.version == v1' }, v2: { Filter: 'Service.Meta.version == v2', OnlyPassing: true } },
    Failover: { '*': { Targets: [{ Service: 'web', Datacenter: 'dc2' }] }, v2: { Service: 'web-backup', Datacenters: ['dc3'] } },
    ConnectTimeout: '15s', RequestTimeout: '30s', LoadBalancer: { Policy: 'ring_hash', RingHashConfig: { MinimumRingSize: 1024, MaximumRingSize: 8192 }, HashPolicies: [{ Field: 'cookie', FieldValue: 'id', CookieConfig: { TTL: 10_000_000_000 } }, { SourceIP: true }] },
  },
  mesh: { Kind: 'mesh', Name: 'mesh', TransparentProxy: { MeshDestinationsOnly: true }, TLS: { Incoming: { TLSMinVersion: 'TLSv1_2', TLSMaxVersion: 'TLSv1_3' } }, HTTP: { SanitizeXForwardedClientCert: true } },
  'ingress-gateway': {
    Kind: 'ingress-gateway', Name: 'ig', TLS: { Enabled: true }, Defaults: { MaxConnections: 10, MaxPendingRequests: 0, MaxConcurrentRequests: 0 },
    Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: 'web', Hosts: ['web.example.com', '*.web.example.com'], TLS: { SDS: { ClusterName: 'sds', CertResource: 'web-cert' } }, RequestHeaders: { Add: { a: 'b' } } }, { Name: 'api', MaxConnections: 5 }] }, { Port: 9090, Protocol: 'tcp', Services: [{ Name: 'db' }] }],
  },
  'terminating-gateway': { Kind: 'terminating-gateway', Name: 'tg', Services: [{ Name: 'legacy', CAFile: '/ca.pem', CertFile: '/c.pem', KeyFile: '/k.pem', SNI: 'legacy.example.com' }, { Name: '*' }] },
};

// Cross-field rules Consul enforces, one per line: entry, expected message.
const INVALID: [Record<string, unknown>, RegExp][] = [
  [{ Kind: 'service-splitter', Name: 'w', Splits: [] }, /Splits: must have at least one split/],
  [{ Kind: 'service-splitter', Name: 'w', Splits: [{ Weight: 50, Service: 'a' }, { Weight: 50, Service: 'a' }] }, /Splits\[1\]: splits to the same service and subset more than once/],
  [{ Kind: 'service-splitter', Name: 'w', Splits: [{ Weight: 101 }] }, /Splits\[0\]\.Weight: must be between 0 and 100/],
  [{ Kind: 'service-resolver', Name: 'w', Redirect: { Service: 'x' }, Subsets: { v1: {} } }, /Subsets: cannot be set together with Redirect/],
  [{ Kind: 'service-resolver', Name: 'w', Redirect: { Service: 'w' } }, /Redirect: redirects the service to itself/],
  [{ Kind: 'service-resolver', Name: 'w', Redirect: { ServiceSubset: 'v1' } }, /Redirect\.ServiceSubset: requires Redirect\.Service/],
  [{ Kind: 'service-resolver', Name: 'w', Redirect: { Datacenter: 'dc2', Peer: 'p' } }, /Redirect\.Peer: cannot be set together with Datacenter/],
  [{ Kind: 'service-resolver', Name: 'w', Failover: { '*': {} } }, /Failover\.\*: must set one of/],
  [{ Kind: 'service-resolver', Name: 'w', Failover: { '*': { Service: 'b', Targets: [{ Service: 'c' }] } } }, /Failover\.\*\.Targets: cannot be set together/],
  [{ Kind: 'service-resolver', Name: 'w', Failover: { '*': { ServiceSubset: 'v9' } } }, /Failover\.\*\.ServiceSubset: "v9" is not a subset/],
  [{ Kind: 'service-resolver', Name: 'w', Subsets: { V1: {} } }, /Subsets\.V1: invalid key: subset names must be lowercase/],
  [{ Kind: 'service-resolver', Name: 'w', ConnectTimeout: 'fast' }, /ConnectTimeout: invalid duration: must be a duration/],
  [{ Kind: 'service-resolver', Name: 'w', LoadBalancer: { Policy: 'random', HashPolicies: [{ SourceIP: true }] } }, /LoadBalancer\.HashPolicies: are only valid with Policy "ring_hash" or "maglev"/],
  [{ Kind: 'service-resolver', Name: 'w', LoadBalancer: { Policy: 'maglev', HashPolicies: [{ Field: 'header' }] } }, /LoadBalancer\.HashPolicies\[0\]\.FieldValue: must be set/],
  [{ Kind: 'service-router', Name: 'w', Routes: [{ Match: { HTTP: { PathExact: '/a', PathPrefix: '/b' } } }] }, /Routes\[0\]\.Match\.HTTP\.PathPrefix: cannot be set together with PathExact/],
  [{ Kind: 'service-router', Name: 'w', Routes: [{ Destination: { PrefixRewrite: '/x' } }] }, /Routes\[0\]\.Destination\.PrefixRewrite: requires Match\.HTTP\.PathPrefix/],
  [{ Kind: 'service-router', Name: 'w', Routes: [{ Match: { HTTP: { Header: [{ Name: 'a', Exact: 'x', Prefix: 'y' }] } } }] }, /Header\[0\]\.Prefix: cannot be set together with Exact/],
  [{ Kind: 'service-router', Name: 'w', Routes: [{ Match: { HTTP: { Methods: ['GET', 'GET'] } } }] }, /Methods\[1\]: is listed more than once/],
  [{ Kind: 'ingress-gateway', Name: 'i', Listeners: [{ Port: 1, Protocol: 'tcp', Services: [{ Name: 'a' }, { Name: 'b' }] }] }, /Listeners\[0\]\.Services: a "tcp" listener routes to exactly one service/],
  [{ Kind: 'ingress-gateway', Name: 'i', Listeners: [{ Port: 1, Protocol: 'http', Services: [{ Name: '*', Hosts: ['a'] }] }] }, /Services\[0\]\.Hosts: cannot be set on the wildcard/],
  [{ Kind: 'ingress-gateway', Name: 'i', Listeners: [{ Port: 1 }, { Port: 1 }] }, /Listeners\[1\]\.Port: is used by more than one listener/],
  [{ Kind: 'ingress-gateway', Name: 'i', Listeners: [{ Port: 1, Protocol: 'http', Services: [{ Name: 'a', TLS: { SDS: { ClusterName: 'c', CertResource: 'r' } } }] }] }, /Listeners\[0\]\.Services\[0\]\.Hosts: must list the host names of its TLS\.SDS certificate/],
  [{ Kind: 'ingress-gateway', Name: 'i', Listeners: [{ Port: 1, Protocol: 'tcp', Services: [{ Name: 'a', TLS: { SDS: { ClusterName: 'c', CertResource: 'r' } } }] }] }, /Listeners\[0\]\.Services\[0\]\.TLS: a certificate of its own needs an HTTP-based listener protocol/],
  [{ Kind: 'ingress-gateway', Name: 'i', Listeners: [{ Port: 1, Protocol: 'http', Services: [{ Name: 'a', Hosts: ['a.example.com'] }, { Name: 'b', Hosts: ['a.example.com'] }] }] }, /Services\[1\]\.Hosts\[0\]: "a\.example\.com" is a host of another service of this listener/],
  [{ Kind: 'ingress-gateway', Name: 'i', Listeners: [{ Port: 1, Protocol: 'http', Services: [{ Name: 'a', Hosts: ['a.*.example.com'] }] }] }, /Services\[0\]\.Hosts\[0\]: "a\.\*\.example\.com": a wildcard is only allowed as the leftmost label/],
  [{ Kind: 'terminating-gateway', Name: 't', Services: [{ Name: 'a', CertFile: '/c', KeyFile: '/k' }] }, /Services\[0\]\.CAFile: must be set/],
  [{ Kind: 'mesh', Name: 'mesh', TLS: { Incoming: { TLSMinVersion: 'TLSv1_3', TLSMaxVersion: 'TLSv1_2' } } }, /TLS\.Incoming\.TLSMinVersion: must not be above TLSMaxVersion/],
  [{ Kind: 'proxy-defaults', Name: 'global', AccessLogs: { Type: 'file' } }, /AccessLogs\.Path: must be set when Type is "file"/],
  [{ Kind: 'service-intentions', Name: 'db', Sources: [{ Name: 'a', Action: 'allow' }, { Name: 'a', Action: 'deny' }] }, /Sources\[1\]\.Name: is listed more than once/],
  [{ Kind: 'service-intentions', Name: 'db', Sources: [{ Name: 'a', Action: 'allow', Permissions: [{ Action: 'deny' }] }] }, /Sources\[0\]\.Action: cannot be set together with Permissions/],
  [{ Kind: 'service-intentions', Name: 'db', Sources: [{ Name: 'web', Peer: 'other', Action: 'allow' }] }, /Sources\[0\]\.Peer: is not supported yet \(cluster peering\)/],
  [{ Kind: 'service-intentions', Name: 'db', Sources: [{ Name: 'web', SamenessGroup: 'g', Action: 'allow' }] }, /Sources\[0\]\.SamenessGroup: is not supported yet \(sameness groups\)/],
  [{ Kind: 'service-defaults', Name: 'w', UpstreamConfig: { Overrides: [{ Name: 'a' }, { Name: 'a' }] } }, /UpstreamConfig\.Overrides\[1\]\.Name: is overridden more than once/],
];

describe('config entry kinds', () => {
  it('accepts a full entry of every kind, unchanged', () => {
    assert.deepEqual(Object.keys(VALID).sort(), [...CONFIG_KINDS].sort());
    for (const entry of Object.values(VALID)) assert.deepEqual(validateConfigEntry(entry), entry, String(entry.Kind));
  });

  it('enforces the cross-field rules, naming the field', () => {
    for (const [entry, message] of INVALID) assert.throws(() => validateConfigEntry(entry), message, JSON.stringify(entry));
  });

  it('rejects unknown fields at any depth', () => {
    assert.throws(() => validateConfigEntry({ Kind: 'service-resolver', Name: 'w', LoadBalancer: { Policy: 'random', Extra: 1 } }), /LoadBalancer\.Extra: unknown field/);
  });
});
