// Bodies decoded as Consul's agent decodes them (Go's JSON decoder: field names ignoring case,
// null as absent; the agent's service definitions also in snake_case), with an unknown field
// still refused by name, opaque maps kept as given, and what a read-modify-write sends back taken.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

describe("decoding like Consul's agent", () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(async () => a?.close());

  it("registers what Consul's Go api client sends: null for every optional field", async () => {
    // api.AgentServiceRegistration marshalled by encoding/json: pointers and slices without omitempty are null.
    const body = { Kind: '', ID: 'web', Name: 'web', Tags: null, Port: 8080, Address: '', TaggedAddresses: null, EnableTagOverride: false, Meta: null, Weights: null, Check: null, Checks: null, Proxy: null, Connect: null, Namespace: '' };
    const r = await a.put('/v1/agent/service/register', body);
    assert.equal(r.status, 200, r.text);
    const got = (await a.get('/v1/agent/service/web')).json as { Service: string; Port: number; Tags: string[] };
    assert.deepEqual([got.Service, got.Port, got.Tags], ['web', 8080, []]);
  });

  it('takes field names in any case, and snake_case in service definitions, with opaque maps kept as given', async () => {
    const body = { name: 'api', PORT: 8081, connect: { sidecar_service: { proxy: { local_service_port: 8081, config: { Protocol: 'kept', envoy_extra: null } } } } };
    const r = await a.put('/v1/agent/service/register', body);
    assert.equal(r.status, 200, r.text);
    const sidecar = (await a.get('/v1/agent/service/api-sidecar-proxy')).json as { Proxy: { LocalServicePort: number; Config: unknown } };
    assert.equal(sidecar.Proxy.LocalServicePort, 8081);
    assert.deepEqual(sidecar.Proxy.Config, { Protocol: 'kept', envoy_extra: null }, 'Proxy.Config is opaque: keys and nulls as given');
  });

  it('still refuses an unknown config entry field by name, and one field given in two spellings', async () => {
    const before = a.agent.store.currentIndex();
    const twice = await a.put('/v1/agent/service/register', { Name: 'x', name: 'y', Port: 1 });
    assert.equal(twice.status, 400);
    assert.match(twice.text, /Name: given twice \(as Name and name\)/);
    const entry = await a.put('/v1/config', { kind: 'service-defaults', name: 'x', protokol: 'http' });
    assert.equal(entry.status, 400);
    assert.match(entry.text, /protokol: unknown field/);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('takes config entries in any case, and one read and written back (indexes, precedence, an empty source Type)', async () => {
    assert.equal((await a.put('/v1/config', { kind: 'service-defaults', name: 'api', protocol: 'http' })).status, 200);
    const read = (await a.get('/v1/config/service-defaults/api')).json as Record<string, unknown>;
    assert.equal(read.Protocol, 'http');
    assert.equal((await a.put('/v1/config', { ...read, Protocol: 'grpc' })).status, 200, 'written back with CreateIndex and ModifyIndex');
    assert.equal(((await a.get('/v1/config/service-defaults/api')).json as { Protocol: string }).Protocol, 'grpc');

    const intentions = { Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Action: 'allow', Type: '', Precedence: 9, Description: null }] };
    const w = await a.put('/v1/config', intentions);
    assert.equal(w.status, 200, w.text);
    const back = (await a.get('/v1/config/service-intentions/api')).json as Record<string, unknown>;
    assert.equal((await a.put('/v1/config', back)).status, 200, 'the entry as read is taken back');
    const decision = (await a.get('/v1/connect/intentions/check?source=web&destination=api')).json as { Allowed: boolean };
    assert.equal(decision.Allowed, true);
  });
});
