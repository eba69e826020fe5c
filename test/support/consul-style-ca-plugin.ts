// A plugin that speaks only what Consul's CA plugin protocol had: GenerateRoot answers nothing
// (the root is ActiveRoot's), certificates come back as PEM only, and there is no State or
// SupportsCrossSigning. The host must serve it as it is.
import type * as grpc from '@grpc/grpc-js';
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { caServiceImpl, servePlugin } from '../../src/ca/plugin/serve.js';
import { systemClock } from '../../src/core/clock.js';

type Callback = (err: unknown, res?: Record<string, unknown>) => void;
type Handler = (call: unknown, cb: Callback) => void;

const full = caServiceImpl(new BuiltinProvider(systemClock)) as Record<string, Handler>;
const pemOnly =
  (h: Handler): Handler =>
  (call, cb) =>
    // An empty DER field is not sent at all: on the wire, Consul's `crt_pem` alone.
    h(call, (err, res) => cb(err, res && 'crtPem' in res ? { crtPem: res.crtPem, crtDer: new Uint8Array(0) } : res));
const consul: Record<string, Handler> = {};
for (const [name, h] of Object.entries(full)) {
  if (name === 'state' || name === 'supportsCrossSigning') continue;
  consul[name] = name === 'generateRoot' ? (call, cb) => h(call, (err) => cb(err, { rootDer: new Uint8Array(0), intermediatesDer: [] })) : pemOnly(h);
}
await servePlugin(consul as grpc.UntypedServiceImplementation, { name: 'consul-style-ca-plugin' });
