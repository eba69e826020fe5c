import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anyFromJson, anyToJson, fromJson, lookupType, pack, toJson, unpack } from '../../src/core/proto.js';
import { TypeUrl, isXdsTypeUrl, typeNameOf } from '../../src/core/type-urls.js';
import { Cluster } from '../../src/gen/envoy/config/cluster/v3/cluster.js';
import { Listener } from '../../src/gen/envoy/config/listener/v3/listener.js';
import { TcpProxy } from '../../src/gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.js';

describe('Any and canonical proto JSON', () => {
  const tcp = TcpProxy.fromPartial({ statPrefix: 'upstream.db', clusterSpecifier: { $case: 'cluster', value: 'db.default.dc1.internal.x.consul' } });
  const listener = Listener.fromPartial({
    name: 'db:127.0.0.1:9191',
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', configType: { $case: 'typedConfig', value: pack(TcpProxy, tcp) } }] }],
  });

  it('writes nested Any fields in canonical form with @type, as Envoy\'s config_dump does', () => {
    const json = toJson(Listener, listener) as { filterChains: { filters: { typedConfig: Record<string, unknown> }[] }[] };
    assert.deepEqual(json.filterChains[0]?.filters[0]?.typedConfig, {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      statPrefix: 'upstream.db',
      cluster: 'db.default.dc1.internal.x.consul',
    });
  });

  it('round-trips canonical JSON and binary Any', () => {
    assert.deepEqual(fromJson(Listener, toJson(Listener, listener)), listener);
    const any = pack(Listener, listener);
    assert.equal(any.typeUrl, TypeUrl.Listener);
    assert.deepEqual(unpack(Listener, any), listener);
    assert.deepEqual(anyFromJson(anyToJson(any)), any);
  });

  it('refuses to unpack an Any of another type', () => {
    assert.throws(() => unpack(Cluster, pack(Listener, listener)), /holds type\.googleapis\.com\/envoy\.config\.listener\.v3\.Listener, expected envoy\.config\.cluster\.v3\.Cluster/);
  });

  it('knows every xDS type through the registry', () => {
    for (const url of Object.values(TypeUrl)) {
      assert.ok(isXdsTypeUrl(url));
      assert.equal(lookupType(url).$type, typeNameOf(url));
    }
    assert.throws(() => lookupType('type.googleapis.com/no.such.Type'), /unknown proto type no\.such\.Type/);
  });
});
