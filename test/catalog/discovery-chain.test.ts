// The discovery chain: the filter language of resolver subsets, the compiler (Consul's node and
// target names), and the checks every config write runs through the real catalog and store
// (a bad chain is a 400 naming the entries and fields involved, and nothing is stored).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { firstValueFrom } from 'rxjs';
import { Catalog } from '../../src/catalog/catalog.js';
import { chainEntries, compileDiscoveryChain, type CompiledDiscoveryChain } from '../../src/catalog/config/chain.js';
import { parseFilter, type FilterSubject } from '../../src/catalog/config/filter.js';
import { ValidationError } from '../../src/core/errors.js';
import { openStore } from '../../src/store/sqlite.js';

const subject: FilterSubject = { serviceId: 'db-1', service: 'db', tags: ['v1', 'primary'], meta: { version: '1', zone: 'eu-west' }, node: 'node-1', nodeMeta: { rack: 'r1' } };

describe('resolver subset filters (the subset of bexpr Consul documents for Subsets.Filter)', () => {
  const cases: [string, boolean][] = [
    ['Service.Meta.version == 1', true],
    ['Service.Meta.version == "2"', false],
    ['Service.Meta.version != 2', true],
    ['Service.Meta["zone"] == eu-west', true],
    ['Service.Meta.missing == ""', false],
    ['v1 in Service.Tags', true],
    ['v2 in Service.Tags', false],
    ['v2 not in Service.Tags', true],
    ['Service.Tags contains primary', true],
    ['Service.Tags not contains primary', false],
    ['Service.ID matches "^db-[0-9]+$"', true],
    ['Service.Meta.zone not matches "^us-"', true],
    ['Service.Tags is empty', false],
    ['Service.Meta.missing is empty', true],
    ['Service.Tags is not empty', true],
    ['Service.Service == db and Node.Node == node-1', true],
    ['Service.Meta.version == 2 or Node.Meta.rack == r1', true],
    ['not (v1 in Service.Tags)', false],
    ['not v2 in Service.Tags and (Service.Meta.version == 1 or Service.Meta.version == 3)', true],
    ['`eu` in Service.Meta.zone', true],
  ];
  for (const [expr, want] of cases) it(`${expr} -> ${want}`, () => assert.equal(parseFilter(expr)(subject), want));

  it('refuses what it cannot evaluate, saying what is wrong', () => {
    assert.throws(() => parseFilter('Service.Weights.Passing == 1'), /selector "Service.Weights.Passing" is not supported yet/);
    assert.throws(() => parseFilter('Service.Meta.version = 1'), /unexpected "="/);
    assert.throws(() => parseFilter('Service.Meta.version == 1 and'), /expected a selector at the end/);
    assert.throws(() => parseFilter('Service.ID matches "("'), /not a valid regular expression/);
    assert.throws(() => parseFilter('(Service.ID == a'), /expected "\)"/);
  });
});

/** Compiles from literal entries (not checked against their schemas: the compiler's own rules). */
function compile(entries: Record<string, Record<string, unknown>>, service = 'web', override?: 'tcp' | 'http'): CompiledDiscoveryChain {
  const r = compileDiscoveryChain(chainEntries((kind, name) => entries[`${kind}/${name}`]), service, 'dc1', override);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.chain;
}

describe('compileDiscoveryChain', () => {
  it('compiles a service no entry touches into one resolver and one target', () => {
    const c = compile({});
    assert.equal(c.protocol, 'tcp');
    assert.equal(c.startNode, 'resolver:web.default.default.dc1');
    assert.deepEqual(Object.keys(c.targets), ['web.default.default.dc1']);
    assert.deepEqual(c.nodes[c.startNode], { type: 'resolver', name: 'resolver:web.default.default.dc1', target: 'web.default.default.dc1', failover: [] });
  });

  const http = { 'service-defaults/web': { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }, 'service-defaults/admin': { Kind: 'service-defaults', Name: 'admin', Protocol: 'http' } };
  const resolver = { Kind: 'service-resolver', Name: 'web', Subsets: { v1: { Filter: 'Service.Meta.version == 1' }, v2: { Filter: 'Service.Meta.version == 2', OnlyPassing: true } }, ConnectTimeout: '3s' };
  const entries = {
    ...http,
    'service-resolver/web': resolver,
    'service-splitter/web': { Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 90, ServiceSubset: 'v1' }, { Weight: 10, ServiceSubset: 'v2' }] },
    'service-router/web': { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefix: '/admin' } }, Destination: { Service: 'admin' } }] },
  };

  it('compiles router -> splitter -> resolvers -> targets with Consul names, the catch-all route last', () => {
    const c = compile(entries);
    assert.equal(c.protocol, 'http');
    assert.equal(c.startNode, 'router:web.default.default');
    const router = c.nodes[c.startNode];
    assert.ok(router?.type === 'router');
    assert.deepEqual(router.routes.map((r) => r.nextNode), ['resolver:admin.default.default.dc1', 'splitter:web.default.default']);
    const splitter = c.nodes['splitter:web.default.default'];
    assert.ok(splitter?.type === 'splitter');
    assert.deepEqual(splitter.splits.map((s) => [s.weight, s.nextNode]), [[90, 'resolver:v1.web.default.default.dc1'], [10, 'resolver:v2.web.default.default.dc1']]);
    assert.deepEqual(Object.keys(c.targets).sort(), ['admin.default.default.dc1', 'v1.web.default.default.dc1', 'v2.web.default.default.dc1']);
    assert.deepEqual(c.targets['v2.web.default.default.dc1'], {
      id: 'v2.web.default.default.dc1', service: 'web', subset: 'v2', namespace: 'default', datacenter: 'dc1', filter: 'Service.Meta.version == 2', onlyPassing: true, connectTimeoutMs: 3000,
    });
  });

  it('compiles the upstream protocol override tcp without routers and splitters (Consul OverrideProtocol)', () => {
    const c = compile(entries, 'web', 'tcp');
    assert.equal(c.startNode, 'resolver:web.default.default.dc1');
    assert.deepEqual(Object.keys(c.nodes), ['resolver:web.default.default.dc1']);
  });

  it('follows redirects, with the subset and datacenter they name', () => {
    const c = compile({ 'service-resolver/web': { Kind: 'service-resolver', Name: 'web', Redirect: { Service: 'db', ServiceSubset: 'v1', Datacenter: 'dc2' } }, 'service-resolver/db': { Kind: 'service-resolver', Name: 'db', Subsets: { v1: {} } } });
    assert.equal(c.startNode, 'resolver:v1.db.default.default.dc2');
    assert.deepEqual(Object.keys(c.targets), ['v1.db.default.default.dc2']);
  });

  it('lists failover targets in order: Targets, or Service and Datacenters', () => {
    const targets = compile({ 'service-resolver/web': { Kind: 'service-resolver', Name: 'web', Failover: { '*': { Targets: [{ Datacenter: 'dc2' }, { Service: 'backup' }] } } } });
    assert.deepEqual((targets.nodes[targets.startNode] as unknown as { failover: string[] }).failover, ['web.default.default.dc2', 'backup.default.default.dc1']);
    const legacy = compile({ 'service-resolver/web': { Kind: 'service-resolver', Name: 'web', Failover: { '*': { Service: 'backup', Datacenters: ['dc2', 'dc3'] } } } });
    assert.deepEqual((legacy.nodes[legacy.startNode] as unknown as { failover: string[] }).failover, ['backup.default.default.dc2', 'backup.default.default.dc3']);
  });
});

describe('config writes check every discovery chain they change', () => {
  const store = openStore(undefined);
  after(() => store.close());
  const catalog = new Catalog(store, { datacenter: 'dc1', node: 'n1' });

  async function refused(entry: Record<string, unknown>, path: string, message: RegExp): Promise<void> {
    const before = await firstValueFrom(catalog.watchConfigEntry(entry.Kind as 'service-router', entry.Name as string));
    await assert.rejects(catalog.setConfigEntry(entry), (e: unknown) => {
      assert.ok(e instanceof ValidationError, String(e));
      const issue = e.issues.find((i) => message.test(i.message));
      assert.ok(issue, `no issue matches ${message}: ${e.message}`);
      assert.equal(issue.path, path, e.message);
      return true;
    });
    assert.deepEqual(await firstValueFrom(catalog.watchConfigEntry(entry.Kind as 'service-router', entry.Name as string)), before, 'a refused write changed the stored entry');
  }

  it('accepts a consistent chain', async () => {
    await catalog.setConfigEntry({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' });
    await catalog.setConfigEntry({ Kind: 'service-defaults', Name: 'api', Protocol: 'http' });
    await catalog.setConfigEntry({ Kind: 'service-resolver', Name: 'web', Subsets: { v1: { Filter: 'Service.Meta.version == 1' }, v2: { Filter: 'Service.Meta.version == 2' } } });
    await catalog.setConfigEntry({ Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 50, ServiceSubset: 'v1' }, { Weight: 50, ServiceSubset: 'v2' }] });
  });

  it('refuses a split to a subset no resolver defines, naming the split', async () => {
    await refused({ Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 50, ServiceSubset: 'v1' }, { Weight: 50, ServiceSubset: 'v3' }] }, 'Splits[1].ServiceSubset', /subset "v3" of service "web" does not exist: service-resolver "web" does not define it/);
  });

  it('refuses removing a subset a splitter still uses, naming the splitter', async () => {
    await refused({ Kind: 'service-resolver', Name: 'web', Subsets: { v1: { Filter: 'Service.Meta.version == 1' } } }, '', /service-splitter\/web Splits\[1\]\.ServiceSubset: subset "v2" of service "web" does not exist/);
  });

  it('refuses splitters in a cycle, listing the entries', async () => {
    await catalog.setConfigEntry({ Kind: 'service-splitter', Name: 'api', Splits: [{ Weight: 100, Service: 'web' }] });
    await refused({ Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 50, ServiceSubset: 'v1' }, { Weight: 50, Service: 'api' }] }, 'Splits', /splits in a cycle: service-splitter "web" -> service-splitter "api" -> service-splitter "web"/);
  });

  it('refuses redirects in a cycle', async () => {
    await catalog.setConfigEntry({ Kind: 'service-resolver', Name: 'a', Redirect: { Service: 'b' } });
    await refused({ Kind: 'service-resolver', Name: 'b', Redirect: { Service: 'a' } }, 'Redirect', /redirects in a cycle: b\.default\.default\.dc1 -> a\.default\.default\.dc1 -> b\.default\.default\.dc1/);
  });

  it('refuses a chain that reaches a service of another protocol', async () => {
    await refused({ Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefix: '/db' } }, Destination: { Service: 'db' } }] }, '', /reaches "db", whose protocol "tcp" differs from "web"'s "http"/);
  });

  it('refuses weights that do not sum to 100 and a router on a tcp service', async () => {
    await refused({ Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 50, ServiceSubset: 'v1' }, { Weight: 40, ServiceSubset: 'v2' }] }, 'Splits', /weights must sum to 100, got 90/);
    await refused({ Kind: 'service-router', Name: 'db', Routes: [] }, 'Name', /does not permit advanced routing/);
  });

  it('refuses a subset filter it cannot evaluate, and fields it does not act on yet', async () => {
    await refused({ Kind: 'service-resolver', Name: 'web', Subsets: { v1: { Filter: 'Service.Weights.Passing == 1' } } }, 'Subsets.v1.Filter', /is not a valid filter: selector "Service.Weights.Passing" is not supported yet/);
    await refused({ Kind: 'service-resolver', Name: 'web', Redirect: { Service: 'api', Peer: 'other' } }, 'Redirect.Peer', /is not supported yet \(cluster peering\)/);
    await refused({ Kind: 'service-resolver', Name: 'web', Failover: { '*': { Service: 'api', Policy: { Mode: 'order-by-locality' } } } }, 'Failover.*.Policy', /is not supported yet/);
    await refused({ Kind: 'service-resolver', Name: 'web', PrioritizeByLocality: { Mode: 'failover' } }, 'PrioritizeByLocality', /is not supported yet/);
    await refused({ Kind: 'service-resolver', Name: 'web', Failover: { '*': { SamenessGroup: 'group' } } }, 'Failover.*.SamenessGroup', /is not supported yet \(sameness groups\)/);
    await refused({ Kind: 'proxy-defaults', Name: 'global', FailoverPolicy: { Mode: 'order-by-locality' } }, 'FailoverPolicy', /is not supported yet/);
  });
});
