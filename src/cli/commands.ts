// The command table. Each capability adds its commands here.
import { CA_COMMANDS } from './ca.js';
import type { Command } from './command.js';
import { versionCommand } from './version.js';

export const COMMANDS: readonly Command[] = [versionCommand, ...CA_COMMANDS];
