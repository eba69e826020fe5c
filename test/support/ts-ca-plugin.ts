// The TypeScript example CA plugin: the built-in provider served as a go-plugin plugin with the
// SDK's serve(). Tests run it through a small executable wrapper (caPlugins().ts).
import { BuiltinProvider } from '../../src/ca/builtin/builtin-provider.js';
import { serve } from '../../src/ca/plugin/serve.js';
import { systemClock } from '../../src/core/clock.js';

await serve(new BuiltinProvider(systemClock), { name: 'ts-ca-plugin' });
