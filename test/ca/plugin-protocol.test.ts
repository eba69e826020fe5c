// The go-plugin protocol pieces on their own: the handshake line, hclog lines, and AutoMTLS as
// a real plugin enforces it (a connection without the host's certificate is refused).
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { HealthClient, type HealthCheckRequest, type HealthCheckResponse } from '../../src/gen/grpc/health/v1/health.js';
import { certPem } from '../../src/ca/pem.js';
import { autoMtlsIdentity } from '../../src/ca/plugin/automtls.js';
import { formatHandshake, parseHandshake } from '../../src/ca/plugin/handshake.js';
import { call } from '../../src/ca/plugin/host.js';
import { parsePluginLogLine } from '../../src/ca/plugin/plugin-log.js';
import { PluginProvider } from '../../src/ca/plugin/plugin-provider.js';
import { systemClock } from '../../src/core/clock.js';
import { consulStylePlugin, goPlugin, hangingPlugin, stillRunning, stubbornPlugin, tsPlugin } from '../support/ca-plugins.js';
import { makeCsr, opensslVerify } from './support.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';

describe('go-plugin handshake line', () => {
  it('reads a go-plugin v1.8 line with its AutoMTLS certificate (base64 without padding)', async () => {
    const { certDer } = await autoMtlsIdentity();
    const line = formatHandshake('/tmp/plugin123', certDer);
    assert.doesNotMatch(line, /=$/);
    const h = parseHandshake(`${line}\n`);
    assert.equal(h.target, 'unix:///tmp/plugin123');
    assert.deepEqual(h.serverCert, certDer);
    assert.equal(parseHandshake('1|1|tcp|127.0.0.1:1234|grpc|').target, '127.0.0.1:1234');
    // A seventh field (gRPC multiplexing) is tolerated.
    assert.equal(parseHandshake('1|1|unix|/tmp/p|grpc||true').serverCert, undefined);
  });

  it('refuses lines it cannot serve, saying why', () => {
    assert.throws(() => parseHandshake('hello world'), /is not CORE-VERSION\|APP-VERSION/);
    assert.throws(() => parseHandshake('2|1|unix|/tmp/p|grpc|'), /core protocol version 2/);
    assert.throws(() => parseHandshake('1|3|unix|/tmp/p|grpc|'), /CA plugin protocol version 3; this host speaks 1/);
    assert.throws(() => parseHandshake('1|1|unix|/tmp/p|netrpc|'), /only gRPC plugins are served/);
    assert.throws(() => parseHandshake('1|1|pipe|/tmp/p|grpc|'), /network "pipe"/);
  });
});

describe('plugin log lines', () => {
  it('keeps an hclog JSON line\'s level, message and fields', () => {
    const e = parsePluginLogLine('{"@level":"warn","@message":"slow","@module":"ca-plugin-go","@timestamp":"2026-12-03T00:00:00Z","ms":12}');
    assert.deepEqual(e, { level: 'warn', message: 'slow', fields: { module: 'ca-plugin-go', ms: 12 } });
    assert.equal(parsePluginLogLine('{"@level":"trace","@message":"x"}')?.level, 'debug');
  });

  it('keeps other lines as text, a Go panic at error', () => {
    assert.deepEqual(parsePluginLogLine('plain words'), { level: 'info', message: 'plain words', fields: {} });
    assert.equal(parsePluginLogLine('panic: runtime error: index out of range')?.level, 'error');
    assert.deepEqual(parsePluginLogLine('{not json'), { level: 'info', message: '{not json', fields: {} });
    assert.equal(parsePluginLogLine('   '), undefined);
  });
});

describe('AutoMTLS with real plugins', () => {
  const providers: PluginProvider[] = [];
  after(() => Promise.all(providers.map((p) => p.close())));

  for (const [name, binary] of [['Go', goPlugin], ['TypeScript', () => Promise.resolve(tsPlugin())]] as const) {
    it(`the ${name} plugin proves itself with the certificate of its handshake and refuses a client without the host's`, async () => {
      const log = recordingLogger();
      const plugin = await binary();
      const p = new PluginProvider({ logger: log, clock: systemClock });
      providers.push(p);
      await p.configure({ clusterId: 'c1', isPrimary: true, datacenter: 'dc1', rawConfig: { plugin_cmd: plugin.cmd } });
      const conn = p.connection();
      assert.ok(conn.serverCert, 'the plugin answered with an AutoMTLS certificate');
      assert.match(new X509Certificate(conn.serverCert).subject, /CN=localhost/);
      const opts = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };

      // Trusting the plugin's certificate but presenting none of its own: refused.
      const stranger = new HealthClient(conn.target, grpc.credentials.createSsl(Buffer.from(certPem(conn.serverCert))), opts);
      await assert.rejects(call<HealthCheckRequest, HealthCheckResponse>(stranger, stranger.check, { service: 'plugin' }, 5_000), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
      stranger.close();
      // Presenting some other certificate: refused too.
      const other = await autoMtlsIdentity();
      const impostor = new HealthClient(conn.target, grpc.credentials.createSsl(Buffer.from(certPem(conn.serverCert)), Buffer.from(other.keyPem), Buffer.from(other.certPem)), opts);
      await assert.rejects(call<HealthCheckRequest, HealthCheckResponse>(impostor, impostor.check, { service: 'plugin' }, 5_000));
      impostor.close();
      // The host's own connection is healthy and serves plugin.CA.
      assert.ok((await p.generateRoot()).root.length > 0);
      if (name === 'Go') {
        // What the Go plugin prints comes over GRPCStdio into the agent log.
        await waitFor('the plugin\'s stdout in the log', () => log.entries.some((e) => e.fields.stdio === 'stdout' && /ca-plugin-go: configured for cluster c1/.test(e.msg)));
      }
    });
  }
});

describe('a plugin of Consul\'s CA plugin protocol', () => {
  it('is served: the root from ActiveRoot, PEM answers, no state, cross-signing assumed', async () => {
    const plugin = consulStylePlugin();
    const p = new PluginProvider({ logger: recordingLogger(), clock: systemClock });
    try {
      await p.configure({ clusterId: 'c1', isPrimary: true, datacenter: 'dc1', rawConfig: { plugin_cmd: plugin.cmd } });
      const { root } = await p.generateRoot();
      assert.match(new X509Certificate(root).subjectAltName ?? '', /URI:spiffe:\/\/c1\.consul/);
      assert.deepEqual(await p.state(), {});
      assert.equal(await p.supportsCrossSigning(), true);
      const leaf = await p.sign(await makeCsr(['spiffe://c1.consul/ns/default/dc/dc1/svc/web']), { ttlMs: 3_600_000 });
      const v = opensslVerify(certPem(root), certPem(leaf));
      assert.ok(v.ok, v.output);
    } finally {
      await p.close();
    }
  });
});

describe('stopping a plugin', () => {
  it('kills a plugin that does not exit within the grace period after Shutdown', async () => {
    const log = recordingLogger();
    const plugin = stubbornPlugin();
    const p = new PluginProvider({ logger: log, clock: systemClock, host: { shutdownGraceMs: 300 } });
    await p.configure({ clusterId: 'c1', isPrimary: true, datacenter: 'dc1', rawConfig: { plugin_cmd: plugin.cmd } });
    const pid = p.pid as number;
    await p.close();
    assert.equal(stillRunning(pid, plugin.cmd) || stillRunning(pid, new URL('../support/stubborn-ca-plugin.js', import.meta.url).pathname), false);
    assert.ok(log.entries.some((e) => e.msg === 'shutdown asked by the host'), 'it was asked first');
    assert.ok(log.entries.some((e) => e.level === 'warn' && /did not exit after Shutdown; killing it/.test(e.msg) && e.fields.graceMs === 300));
  });
});

describe('a plugin that hangs', () => {
  it('fails a call it does not answer in time, naming the plugin and the call', async () => {
    const plugin = hangingPlugin();
    const p = new PluginProvider({ logger: recordingLogger(), clock: systemClock, callTimeoutMs: 500 });
    try {
      await p.configure({ clusterId: 'c1', isPrimary: true, datacenter: 'dc1', rawConfig: { plugin_cmd: plugin.cmd } });
      await p.generateRoot();
      const csr = await makeCsr(['spiffe://c1.consul/ns/default/dc/dc1/svc/web']);
      await assert.rejects(p.sign(csr, { ttlMs: 3_600_000 }), (err: Error) => err.name === 'UnavailableError' && /CA provider plugin "hanging-ca-plugin" did not answer Sign within 500 ms/.test(err.message));
    } finally {
      await p.close();
    }
  });
});
