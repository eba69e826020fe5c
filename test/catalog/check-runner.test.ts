import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkProbes, type Probes } from '../../src/catalog/checks/probes.js';
import { CheckRunner } from '../../src/catalog/checks/runner.js';
import { ManualClock } from '../../src/core/clock.js';
import { openStore } from '../../src/store/sqlite.js';
import { waitFor } from '../support/wait.js';
import { healthServer } from '../support/grpc-peers.js';

describe('check runner', () => {
  it('probes no more often than once a second, and takes a zero Timeout as the default, as Consul does', async () => {
    const clock = new ManualClock();
    const store = openStore(undefined);
    const catalog = new Catalog(store, { datacenter: 'dc1', node: 'n1' });
    await catalog.registerNode('127.0.0.1');
    await catalog.registerService({ Name: 'web', Port: 80, Check: { TCP: '127.0.0.1:80', Interval: '0s', Timeout: '0s' } });
    const timeouts: number[] = [];
    const probes: Probes = {
      tcp: (_address, timeoutMs) => {
        timeouts.push(timeoutMs);
        return Promise.resolve({ status: 'passing', output: 'ok' });
      },
      http: () => Promise.reject(new Error('unused')),
      grpc: () => Promise.reject(new Error('unused')),
    };
    const runner = new CheckRunner(catalog, { clock, probes });
    runner.start();
    try {
      await waitFor('the first probe and its next timer', () => timeouts.length === 1 && clock.pendingTimers() > 0);
      for (let i = 0; i < 9; i++) {
        clock.advance(100);
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(timeouts.length, 1, 'an Interval of 0s must not probe in a loop');
      clock.advance(100);
      await waitFor('the second probe, a second later', () => timeouts.length === 2);
      assert.deepEqual(timeouts, [10_000, 10_000]);
    } finally {
      runner.stop();
      store.close();
    }
  });
});

describe('check runner reaping', () => {
  it('deregisters a critical service no sooner than a minute, whatever DeregisterCriticalServiceAfter says, as Consul does', async () => {
    const clock = new ManualClock();
    const store = openStore(undefined);
    const catalog = new Catalog(store, { datacenter: 'dc1', node: 'n1' });
    await catalog.registerNode('127.0.0.1');
    await catalog.registerService({ Name: 'flaky', Port: 80, Check: { TTL: '1h', DeregisterCriticalServiceAfter: '1s' } });
    const reject = () => Promise.reject(new Error('unused'));
    const runner = new CheckRunner(catalog, { clock, probes: { tcp: reject, http: reject, grpc: reject } });
    runner.start();
    const registered = () => store.read((tx) => tx.get('services', 'n1/flaky') !== undefined);
    try {
      clock.advance(59_000);
      await new Promise((r) => setImmediate(r));
      assert.ok(registered(), 'still registered after 59s');
      clock.advance(1_000);
      await waitFor('the reaping after a minute', () => !registered());
    } finally {
      runner.stop();
      store.close();
    }
  });
});

const LONG = `com.example.${'very-long-name.'.repeat(12)}Health`;

describe('network probes', () => {
  it('answers critical, never throws, when Node refuses to send the request', async () => {
    // A header value with a line break passes the schema; http.request throws on it. Thrown
    // out of the probe, it was an unhandled rejection in the runner: the agent stopped.
    const r = await networkProbes.http({ HTTP: 'http://127.0.0.1:9/health', Header: { 'X-Token': ['a\nb'] } }, 1000);
    assert.equal(r.status, 'critical');
    assert.match(r.output, /HTTP GET http:\/\/127\.0\.0\.1:9\/health: .*X-Token/);
  });

  it('asks a gRPC server about a service whose name is longer than 127 bytes', async () => {
    // The request's length prefix is a varint: one byte only up to 127.
    let asked: string | undefined;
    const server = healthServer((b) => {
      // field 1, length-delimited; a two-byte varint length for 128-16383.
      asked = b[0] === 0x0a && b.length > 3 ? b.subarray(3).toString('utf8') : undefined;
      return asked === LONG ? 1 : 2;
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    try {
      const r = await networkProbes.grpc(`127.0.0.1:${port}/${LONG}`, false, 5000);
      assert.equal(asked, LONG);
      assert.equal(r.status, 'passing', r.output);
    } finally {
      server.forceShutdown();
    }
  });

  it('bounds an HTTP check by its Timeout even when the server keeps trickling bytes', async () => {
    // http.request's `timeout` is an idle timeout: a body sent a byte at a time never trips it.
    const server = createServer((_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const started = Date.now();
      const r = await Promise.race([
        networkProbes.http({ HTTP: `http://127.0.0.1:${port}/health` }, 300),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000).unref()),
      ]);
      assert.ok(r, 'the probe ended');
      assert.equal(r.status, 'critical');
      assert.match(r.output, /timed out after 300 ms/);
      assert.ok(Date.now() - started < 3000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
