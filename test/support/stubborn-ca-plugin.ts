// A plugin that answers Shutdown but does not exit (its exit is a no-op and a timer keeps it
// alive): the host must kill it once the grace period is over.
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { serve } from '../../src/ca/plugin/serve.js';
import { systemClock } from '../../src/core/clock.js';

process.exit = (() => undefined) as typeof process.exit;
setInterval(() => undefined, 1 << 30);
await serve(new BuiltinProvider(systemClock), { name: 'stubborn-ca-plugin' });
