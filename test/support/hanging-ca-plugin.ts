// A plugin that never answers Sign (everything else is the built-in provider's): the host must
// give up on the call rather than hold the leaf request forever.
import type * as grpc from '@grpc/grpc-js';
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { caServiceImpl, servePlugin } from '../../src/ca/plugin/serve.js';
import { systemClock } from '../../src/core/clock.js';

const impl = caServiceImpl(new BuiltinProvider(systemClock));
await servePlugin({ ...impl, sign: () => undefined } as grpc.UntypedServiceImplementation, { name: 'hanging-ca-plugin' });
