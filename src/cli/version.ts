import { readFileSync } from 'node:fs';
import type { Command } from './command.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the Switchyard version',
  run(_args, io) {
    io.stdout(`Switchyard v${packageVersion()}\n`);
    return Promise.resolve(0);
  },
};
