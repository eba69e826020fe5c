// Which checks Expose.Checks exposes, on which ports: the rules a user sees as listeners.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HealthCheck, HealthCheckDefinition } from '../../src/catalog/types.js';
import { DEFAULT_EXPOSED_CHECK_PORTS, sameCheckPaths, serviceCheckPaths } from '../../src/proxycfg/exposed-checks.js';

function check(id: string, serviceId: string, def: HealthCheckDefinition, status: HealthCheck['Status'] = 'critical'): HealthCheck {
  return { Node: 'n1', CheckID: id, Name: id, Status: status, Notes: '', Output: '', ServiceID: serviceId, ServiceName: serviceId, Type: 'http', Definition: def, CreateIndex: 1, ModifyIndex: 1 };
}

const ports = DEFAULT_EXPOSED_CHECK_PORTS;
const of = (checks: HealthCheck[], serviceId: string, localAddress = '127.0.0.1') =>
  serviceCheckPaths(checks, { serviceId, localAddress, ports }).map((p) => `${p.checkId} ${p.protocol} ${p.path} ${p.localPathPort} -> ${p.listenerPort}`);

describe('Expose.Checks check paths', () => {
  it('exposes HTTP and plain gRPC checks of the local app, not https, gRPC over TLS, TCP, TTL or another host', () => {
    const checks = [
      check('a-http', 'web', { HTTP: 'http://localhost:8080/health?full=1', Interval: '10s' }),
      check('b-grpc', 'web', { GRPC: '127.0.0.1:9090/web', Interval: '10s' }),
      check('c-https', 'web', { HTTP: 'https://127.0.0.1:8443/health', Interval: '10s' }),
      check('d-grpc-tls', 'web', { GRPC: '127.0.0.1:9091', GRPCUseTLS: true, Interval: '10s' }),
      check('e-tcp', 'web', { TCP: '127.0.0.1:8080', Interval: '10s' }),
      check('f-ttl', 'web', { TTL: '30s' }),
      check('g-remote', 'web', { HTTP: 'http://10.9.9.9:8080/health', Interval: '10s' }),
      check('h-own-address', 'web', { HTTP: 'http://[::1]/ping', Interval: '10s' }),
    ];
    assert.deepEqual(of(checks, 'web'), [
      'a-http http /health 8080 -> 21500',
      'b-grpc http2 /grpc.health.v1.Health/Check 9090 -> 21501',
      // g-remote takes a port node-wide (another sidecar may dial 10.9.9.9 as its local app) but is not web's.
      'h-own-address http /ping 80 -> 21503',
    ]);
    assert.deepEqual(of(checks, 'web', '10.9.9.9').slice(2), ['g-remote http /health 8080 -> 21502', 'h-own-address http /ping 80 -> 21503']);
  });

  it("hands ports out per node, so two sidecars on one node never share one (a node check takes none)", () => {
    const checks = [check('api-1', 'api', { HTTP: 'http://127.0.0.1:7000/a', Interval: '1s' }), check('web-1', 'web', { HTTP: 'http://127.0.0.1:8000/w', Interval: '1s' }), check('node-disk', '', { HTTP: 'http://127.0.0.1:1/disk', Interval: '1s' })];
    assert.deepEqual([...of(checks, 'api'), ...of(checks, 'web')], ['api-1 http /a 7000 -> 21500', 'web-1 http /w 8000 -> 21501']);
    const narrow = serviceCheckPaths(checks, { serviceId: 'web', localAddress: '127.0.0.1', ports: { min: 30000, max: 30000 } });
    assert.equal(narrow[0]?.listenerPort, undefined, 'past the range: no port');
  });

  it('a status change alone leaves the paths alike (no new snapshot)', () => {
    const def = { HTTP: 'http://127.0.0.1:8080/health', Interval: '10s' };
    const before = serviceCheckPaths([check('c', 'web', def, 'critical')], { serviceId: 'web', localAddress: '127.0.0.1', ports });
    const after = serviceCheckPaths([check('c', 'web', def, 'passing')], { serviceId: 'web', localAddress: '127.0.0.1', ports });
    assert.ok(sameCheckPaths(before, after));
    const moved = serviceCheckPaths([check('c', 'web', { ...def, HTTP: 'http://127.0.0.1:8080/ready' })], { serviceId: 'web', localAddress: '127.0.0.1', ports });
    assert.ok(!sameCheckPaths(before, moved));
  });
});
