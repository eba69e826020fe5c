// A proxy's resources as an operator reads them: canonical proto JSON per resource, by type then
// by name, private keys redacted (as Envoy's own config_dump does) (GET /v1/agent/xds/config/:proxy), and the resource-level
// difference between two sets (config write -dry-run).
import { anyToJson, packBytes } from '../core/proto.js';
import type { ResourceSet } from '../core/resources.js';
import { XDS_TYPE_URLS, type XdsTypeUrl } from '../core/type-urls.js';

export interface DumpedResource {
  readonly Name: string;
  /** Hash of the encoded resource: what Switchyard sends as the resource's version. */
  readonly Version: string;
  /** Canonical proto JSON, with its "@type". */
  readonly Resource: unknown;
}

/** By type URL, each type's resources sorted by name. */
export type ResourceDump = Readonly<Partial<Record<XdsTypeUrl, readonly DumpedResource[]>>>;

const REDACTED = '[redacted]';

/** Canonical JSON of one resource; a Secret's private key is never shown. */
function resourceJson(typeUrl: XdsTypeUrl, value: Uint8Array): unknown {
  return redact(anyToJson(packBytes(typeUrl, value)));
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'privateKey' ? { inlineString: REDACTED } : redact(v)]));
}

export function dumpResources(set: ResourceSet): ResourceDump {
  const out: Partial<Record<XdsTypeUrl, DumpedResource[]>> = {};
  for (const typeUrl of XDS_TYPE_URLS) {
    const byName = set.get(typeUrl);
    if (!byName) continue;
    out[typeUrl] = [...byName.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => ({ Name: r.name, Version: r.version, Resource: resourceJson(r.typeUrl, r.value) }));
  }
  return out;
}

export interface ResourceChange {
  readonly TypeUrl: XdsTypeUrl;
  readonly Name: string;
  readonly Change: 'added' | 'removed' | 'changed';
  /** Canonical JSON before (absent when added) and after (absent when removed). */
  readonly Before?: unknown;
  readonly After?: unknown;
}

/** What differs between two sets, resource by resource (by version: a hash of the bytes), by type then name. */
export function diffResources(before: ResourceSet, after: ResourceSet): ResourceChange[] {
  const changes: ResourceChange[] = [];
  const json = resourceJson;
  for (const typeUrl of XDS_TYPE_URLS) {
    const a = before.get(typeUrl) ?? new Map();
    const b = after.get(typeUrl) ?? new Map();
    const names = [...new Set([...a.keys(), ...b.keys()])].sort();
    for (const name of names) {
      const was = a.get(name);
      const now = b.get(name);
      if (was && now && was.version === now.version) continue;
      if (!was && now) changes.push({ TypeUrl: typeUrl, Name: name, Change: 'added', After: json(typeUrl, now.value) });
      else if (was && !now) changes.push({ TypeUrl: typeUrl, Name: name, Change: 'removed', Before: json(typeUrl, was.value) });
      else if (was && now) changes.push({ TypeUrl: typeUrl, Name: name, Change: 'changed', Before: json(typeUrl, was.value), After: json(typeUrl, now.value) });
    }
  }
  return changes;
}
