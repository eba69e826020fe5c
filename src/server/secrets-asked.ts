// A stream only ever receives its own service identity's Secrets (issue 15 item 3): the desired
// set holds the proxy's own leaf and the roots, and the sessions send only what is desired, so a
// Secret asked for by any other name (another service's leaf) gets nothing. This notes such
// names in the log, once per name and stream, because a proxy asking for them is misconfigured
// or is probing for another identity's private key.
import { TypeUrl, type XdsTypeUrl } from '../core/type-urls.js';
import type { ResourceSet } from '../core/resources.js';
import type { StreamContext } from './stream-host.js';

export function foreignSecretNotes(ctx: Pick<StreamContext, 'logFor' | 'node'>): (typeUrl: XdsTypeUrl, asked: Iterable<string>, desired: ResourceSet) => void {
  const noted = new Set<string>();
  return (typeUrl, asked, desired) => {
    if (typeUrl !== TypeUrl.Secret) return;
    const own = desired.get(TypeUrl.Secret);
    for (const name of asked) {
      if (name === '*' || own?.has(name) || noted.has(name)) continue;
      noted.add(name);
      ctx.logFor(typeUrl).warn({ secret: name }, `proxy ${ctx.node.id} asked for Secret "${name}", which is not its own: nothing is sent for it (a stream only receives its own service identity's Secrets)`);
    }
  };
}
