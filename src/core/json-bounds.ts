// The bounds every JSON value the agent takes in must keep, checked once where a request body is
// parsed (and, for depth, where a stored record is loaded). Each bound keeps the agent's own cost
// in check: depth bounds the call stack of every recursive step after parsing (JSON.stringify,
// deep equality, schemas), so a stored value can always be served again; the counts bound what
// validation and its error report cost; string and key lengths bound what one field can hold.
// They are set far above what a Consul user writes (see README, "Limits").
import type { FieldIssue } from './errors.js';
import { formatPath } from './validate.js';

export interface JsonLimits {
  /** Objects and arrays nested in one another; the body itself is level 1. */
  readonly maxDepth: number;
  /** Characters in one string value. */
  readonly maxStringLength: number;
  /** Characters in one object key. */
  readonly maxKeyLength: number;
  /** Elements of one array. */
  readonly maxArrayLength: number;
  /** Keys of one object. */
  readonly maxObjectKeys: number;
  /** Values (objects, arrays, strings, numbers, booleans, nulls) in the whole document. */
  readonly maxValues: number;
}

export const JSON_LIMITS: JsonLimits = {
  maxDepth: 64,
  maxStringLength: 512 * 1024,
  maxKeyLength: 256,
  maxArrayLength: 10_000,
  maxObjectKeys: 10_000,
  maxValues: 100_000,
};

interface Node {
  readonly value: unknown;
  readonly depth: number;
  readonly key?: PropertyKey;
  readonly parent?: Node;
}

function pathOf(n: Node): PropertyKey[] {
  const keys: PropertyKey[] = [];
  for (let at: Node | undefined = n; at?.parent; at = at.parent) keys.push(at.key as PropertyKey);
  return keys.reverse();
}

/** A key as a message may quote it: a key past the limit is cut, so the message stays small. */
function shown(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}…` : key;
}

/**
 * The first place where a parsed JSON value leaves `limits` (every limit not given is not
 * checked), or has a key `__proto__`, or a number JSON.parse turned into Infinity; undefined when
 * it keeps them all. A loop over an explicit stack: any depth costs no call stack, and the walk
 * stops at the first problem, so its cost is bounded by `maxValues` when that is set.
 */
export function jsonBoundsIssue(root: unknown, limits: Partial<JsonLimits> = JSON_LIMITS): FieldIssue | undefined {
  const { maxDepth = Infinity, maxStringLength = Infinity, maxKeyLength = Infinity, maxArrayLength = Infinity, maxObjectKeys = Infinity, maxValues = Infinity } = limits;
  const at = (n: Node, message: string, extra: PropertyKey[] = []): FieldIssue => ({ path: formatPath([...pathOf(n), ...extra]), message });
  const stack: Node[] = [{ value: root, depth: 0 }];
  let values = 0;
  for (let node = stack.pop(); node; node = stack.pop()) {
    const { value } = node;
    if (++values > maxValues) return { path: '', message: `holds more than ${maxValues} JSON values` };
    if (typeof value === 'string') {
      if (value.length > maxStringLength) return at(node, `is longer than ${maxStringLength} characters`);
      continue;
    }
    if (typeof value === 'number') {
      // JSON.parse reads 1e400 as Infinity, which would be stored as null.
      if (!Number.isFinite(value)) return at(node, 'is a number out of range');
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const depth = node.depth + 1;
    if (depth > maxDepth) return at(node, `is nested deeper than ${maxDepth} levels of objects and arrays`);
    if (Array.isArray(value)) {
      if (value.length > maxArrayLength) return at(node, `has more than ${maxArrayLength} elements`);
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth, key: i, parent: node });
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > maxObjectKeys) return at(node, `has more than ${maxObjectKeys} keys`);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      // JSON.parse keeps `__proto__` as an own key, but the schemas build plain objects, where it
      // sets the prototype: the key would be dropped from what is stored, unvalidated.
      if (key === '__proto__') return at(node, 'cannot be used as a key', [key]);
      if (key.length > maxKeyLength) return at(node, `is a key longer than ${maxKeyLength} characters`, [shown(key)]);
      stack.push({ value: (value as Record<string, unknown>)[key], depth, key, parent: node });
    }
  }
  return undefined;
}
