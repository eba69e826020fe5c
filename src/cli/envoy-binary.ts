// Where `connect envoy` finds Envoy: $ENVOY_BIN, then `envoy` on PATH, then the project's
// pinned copy in .tools/ (installed by `npm run tools`).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const TOOLS_ENVOY = new URL('../../../.tools/envoy/envoy/_bin/envoy', import.meta.url).pathname;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findEnvoy(env: Readonly<Record<string, string | undefined>>): string {
  if (env.ENVOY_BIN) {
    if (!executable(env.ENVOY_BIN)) throw new Error(`ENVOY_BIN=${env.ENVOY_BIN} is not an executable file`);
    return env.ENVOY_BIN;
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'envoy');
    if (executable(candidate)) return candidate;
  }
  if (executable(TOOLS_ENVOY)) return TOOLS_ENVOY;
  throw new Error('envoy not found: set ENVOY_BIN, put envoy on PATH, or run `npm run tools` to install the pinned build into .tools/');
}
