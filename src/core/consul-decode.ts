// Decodes a JSON body the way Consul's agent does before a strict schema sees it: Go's JSON
// decoder matches field names case-insensitively and treats `null` as absent, and Consul's agent
// also takes snake_case keys in service definitions (`sidecar_service`, `local_service_port`).
// Guided by the zod schema the body is then parsed with: a key of a strict object is renamed to
// the schema's spelling when they match ignoring case (and underscores, with `snakeCase`), and a
// `null` field of a strict object is dropped. Opaque maps (records, loose objects such as
// `Proxy.Config`) keep their keys and values as given, as Consul keeps a map[string]interface{}.
// A key the schema does not know is left alone, so the strict schema still refuses it by name.
import { ValidationError } from './errors.js';
import { formatPath } from './validate.js';

export interface ConsulDecodeOptions {
  /** Also match `snake_case` keys (Consul's agent service definitions). */
  readonly snakeCase?: boolean;
}

/** The parts of a zod schema's definition this walk reads (zod 4's `_zod.def`). */
interface Def {
  readonly type: string;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly catchall?: unknown;
  readonly innerType?: unknown;
  readonly in?: unknown;
  readonly out?: unknown;
  readonly element?: unknown;
  readonly getter?: () => unknown;
}

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** Through optional, nullable, default, readonly, pipes (and preprocesses) and lazies to the schema that shapes the value. */
function unwrap(schema: unknown): Def | undefined {
  let def = defOf(schema);
  for (let i = 0; def && i < 32; i++) {
    if (def.innerType !== undefined && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type)) def = defOf(def.innerType);
    // A preprocess is a pipe from a transform: the value is shaped by what it feeds.
    else if (def.type === 'pipe') def = defOf(defOf(def.in)?.type === 'transform' ? def.out : def.in);
    else if (def.type === 'lazy' && def.getter) def = defOf(def.getter());
    else break;
  }
  return def;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function consulDecode(schema: unknown, value: unknown, opts: ConsulDecodeOptions = {}, path: readonly PropertyKey[] = []): unknown {
  const def = unwrap(schema);
  if (!def) return value;
  if (def.type === 'array' && Array.isArray(value)) return value.map((v, i) => consulDecode(def.element, v, opts, [...path, i]));
  // Only structured objects (strict, or stripping unknown keys): a loose object or a record is
  // an opaque map whose keys are data.
  const catchall = defOf(def.catchall)?.type;
  const strict = def.type === 'object' && def.shape !== undefined && (catchall === undefined || catchall === 'never');
  if (!strict || !isPlainObject(value)) return value;
  const shape = def.shape as Readonly<Record<string, unknown>>;
  const fold = (k: string) => (opts.snakeCase ? k.replace(/_/g, '') : k).toLowerCase();
  const canonical = new Map(Object.keys(shape).map((k) => [fold(k), k]));
  const out: Record<string, unknown> = {};
  const given = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    const name = Object.hasOwn(shape, key) ? key : (canonical.get(fold(key)) ?? key);
    const earlier = given.get(name);
    if (earlier !== undefined) throw ValidationError.of(formatPath([...path, name]), `given twice (as ${earlier} and ${key}); use one spelling`);
    given.set(name, key);
    if (v === null && Object.hasOwn(shape, name)) continue;
    out[name] = Object.hasOwn(shape, name) ? consulDecode(shape[name], v, opts, [...path, name]) : v;
  }
  return out;
}
