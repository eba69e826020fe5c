// `switchyard connect envoy` as an operator runs it, Envoy and all: in its own process group,
// so that kill() reaches the Envoy it started whatever the command does (SIGKILL to the command
// alone would leave its Envoy running: Envoy does not exit when its ADS stream goes).
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './agent-process.js';
import { envoyBinary } from './envoy.js';

export interface ConnectEnvoyProcess {
  readonly cli: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGKILL to the whole group (safe to call when it has exited). */
  kill(): void;
}

export async function spawnConnectEnvoy(args: readonly string[]): Promise<ConnectEnvoyProcess> {
  const cli = spawn(BIN, ['connect', 'envoy', ...args], {
    env: { ...process.env, ENVOY_BIN: await envoyBinary() },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  cli.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  cli.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const kill = () => {
    try {
      process.kill(-(cli.pid as number), 'SIGKILL');
    } catch {
      // the group has already exited
    }
  };
  return { cli, output: () => out, kill };
}
