// The command table. Each capability adds its commands here.
import type { Command } from './command.js';
import { versionCommand } from './version.js';

export const COMMANDS: readonly Command[] = [versionCommand];
