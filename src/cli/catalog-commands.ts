// `switchyard catalog services/nodes/datacenters` and `switchyard members`, printed as Consul's
// CLI prints them.
import { command, positional } from './client-commands.js';
import type { Command } from './command.js';
import { table } from './table.js';

interface CatalogNode {
  readonly Node: string;
  readonly ID?: string;
  readonly Address: string;
  readonly Datacenter?: string;
}

interface Member {
  readonly Name: string;
  readonly Addr: string;
  readonly Port: number;
  readonly Status: number;
  readonly Tags?: Readonly<Record<string, string>>;
  readonly ProtocolCur?: number;
}

/** Serf's member status numbers, as `consul members` prints them. */
const STATUS = ['none', 'alive', 'leaving', 'left', 'failed'];

export const catalogCommands: readonly Command[] = [
  command('catalog services', 'List the services in the catalog', '[-tags]', { tags: { type: 'bool', help: 'Show each service\'s tags' } }, async (api, f, args, io) => {
    positional(args, 0, 'no arguments');
    const services = await api.get<Record<string, string[]>>('/v1/catalog/services');
    const names = Object.keys(services).sort();
    io.stdout(f.tags ? table(names.map((n) => [n, (services[n] ?? []).join(',')])) : names.map((n) => `${n}\n`).join(''));
    return 0;
  }),
  command('catalog nodes', 'List the nodes in the catalog', '', {}, async (api, _f, args, io) => {
    positional(args, 0, 'no arguments');
    const nodes = await api.get<CatalogNode[]>('/v1/catalog/nodes');
    io.stdout(table([['Node', 'ID', 'Address', 'DC'], ...nodes.map((n) => [n.Node, (n.ID ?? '').slice(0, 8), n.Address, n.Datacenter ?? ''])]));
    return 0;
  }),
  command('catalog datacenters', 'List the known datacenters', '', {}, async (api, _f, args, io) => {
    positional(args, 0, 'no arguments');
    io.stdout((await api.get<string[]>('/v1/catalog/datacenters')).map((d) => `${d}\n`).join(''));
    return 0;
  }),
  command('members', 'List the agent\'s members (this agent: Switchyard has no gossip pool)', '', {}, async (api, _f, args, io) => {
    positional(args, 0, 'no arguments');
    const members = await api.get<Member[]>('/v1/agent/members');
    io.stdout(table([['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC'], ...members.map((m) => [m.Name, `${m.Addr}:${m.Port}`, STATUS[m.Status] ?? String(m.Status), m.Tags?.role === 'consul' ? 'server' : 'client', m.Tags?.build ?? '', String(m.ProtocolCur ?? ''), m.Tags?.dc ?? ''])]));
    return 0;
  }),
];
