// The command table. Each capability adds its commands here.
import { ACL_COMMANDS } from './acl.js';
import { agentCommand } from './agent-command.js';
import { CA_COMMANDS } from './ca.js';
import { catalogCommands } from './catalog-commands.js';
import { clientCommands } from './client-commands.js';
import { connectEnvoyCommand } from './connect-envoy.js';
import type { Command } from './command.js';
import { intentionCommands } from './intention-commands.js';
import { proxyConfigCommand, proxyStatusCommand } from './proxy-commands.js';
import { versionCommand } from './version.js';

export const COMMANDS: readonly Command[] = [versionCommand, agentCommand, ...clientCommands, ...intentionCommands, ...catalogCommands, ...CA_COMMANDS, ...ACL_COMMANDS, connectEnvoyCommand, proxyStatusCommand, proxyConfigCommand];
