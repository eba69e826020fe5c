// Encoding and interning: each resource is encoded once, versioned by a hash of its bytes, and
// identical resources (same type, name and bytes) are the same EncodedResource object for every
// proxy, so the server shares bytes and compares versions cheaply. Interned objects live as long
// as some ResourceSet holds them (weak references), so the cache never outgrows what is in use.
import { createHash } from 'node:crypto';
import type { EncodedResource } from '../core/resources.js';
import type { XdsTypeUrl } from '../core/type-urls.js';

/** Short hex of SHA-256: deterministic across restarts and replicas. */
export function versionOf(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

export class ResourceInterner {
  private readonly entries = new Map<string, WeakRef<EncodedResource>>();
  private readonly memos = new WeakMap<object, Map<string, EncodedResource>>();
  private readonly shapes = new Map<string, WeakRef<ReadonlyMap<string, EncodedResource>>>();
  private readonly shapeFinalizer = new FinalizationRegistry<string>((key) => {
    if (this.shapes.get(key)?.deref() === undefined) this.shapes.delete(key);
  });
  private readonly finalizer = new FinalizationRegistry<string>((key) => {
    if (this.entries.get(key)?.deref() === undefined) this.entries.delete(key);
  });

  intern(typeUrl: XdsTypeUrl, name: string, value: Uint8Array, children?: readonly string[]): EncodedResource {
    const version = versionOf(value);
    const key = `${typeUrl}\u0000${name}\u0000${version}`;
    const existing = this.entries.get(key)?.deref();
    if (existing) return existing;
    const resource: EncodedResource = children && children.length > 0 ? { typeUrl, name, version, value, children: Object.freeze([...children]) } : { typeUrl, name, version, value };
    Object.freeze(resource);
    this.entries.set(key, new WeakRef(resource));
    this.finalizer.register(resource, key);
    return resource;
  }

  /**
   * The resource `build` makes from `input` under `name`, built once for as long as `input` (an
   * immutable object shared between proxies, such as a health result's endpoints) is alive.
   */
  memo(input: object, name: string, build: () => EncodedResource): EncodedResource {
    let byName = this.memos.get(input);
    if (!byName) this.memos.set(input, (byName = new Map()));
    let resource = byName.get(name);
    if (!resource) byName.set(name, (resource = build()));
    return resource;
  }

  /**
   * One type's resources built for a snapshot shape (generate.ts), built once for as long as
   * some proxy's set holds them.
   */
  shaped(key: string, build: () => ReadonlyMap<string, EncodedResource>): ReadonlyMap<string, EncodedResource> {
    const hit = this.shapes.get(key)?.deref();
    if (hit) return hit;
    const built = build();
    this.shapes.set(key, new WeakRef(built));
    this.shapeFinalizer.register(built, key);
    return built;
  }

  /** Number of live entries (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

/** The process-wide interner used when a caller does not inject one. */
export const sharedInterner = new ResourceInterner();
