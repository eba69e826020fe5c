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

/** Values by key, each kept only while something else holds it (weak references). */
class WeakValues<V extends object> {
  private readonly values = new Map<string, WeakRef<V>>();
  private readonly finalizer = new FinalizationRegistry<string>((key) => {
    if (this.values.get(key)?.deref() === undefined) this.values.delete(key);
  });

  get(key: string, build: () => V): V {
    const hit = this.values.get(key)?.deref();
    if (hit) return hit;
    const value = build();
    this.values.set(key, new WeakRef(value));
    this.finalizer.register(value, key);
    return value;
  }

  get size(): number {
    return this.values.size;
  }
}

export class ResourceInterner {
  private readonly entries = new WeakValues<EncodedResource>();
  private readonly memos = new WeakMap<object, Map<string, EncodedResource>>();
  private readonly shapes = new WeakValues<ReadonlyMap<string, EncodedResource>>();
  private readonly parts = new WeakValues<Uint8Array>();

  intern(typeUrl: XdsTypeUrl, name: string, value: Uint8Array, children?: readonly string[]): EncodedResource {
    const version = versionOf(value);
    return this.entries.get(`${typeUrl}\u0000${name}\u0000${version}`, () =>
      Object.freeze(children && children.length > 0 ? { typeUrl, name, version, value, children: Object.freeze([...children]) } : { typeUrl, name, version, value }),
    );
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
    return this.shapes.get(key, build);
  }

  /** Bytes `build` encodes under `key` (a part of resources shared between proxies), built once for as long as some resource holds them. */
  bytes(key: string, build: () => Uint8Array): Uint8Array {
    return this.parts.get(key, build);
  }

  /** Number of live entries (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

/** The process-wide interner used when a caller does not inject one. */
export const sharedInterner = new ResourceInterner();
