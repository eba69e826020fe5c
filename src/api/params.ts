// Query parameters as Consul reads them.
import { ValidationError } from '../core/errors.js';
import type { ApiRequest } from './route.js';

/** A flag such as `?passing`: present means true unless it says false. */
export function flag(req: ApiRequest, name: string): boolean {
  const v = req.query.get(name);
  if (v === null) return false;
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw ValidationError.of(name, `must be true or false, got "${v}"`);
}

export function required(req: ApiRequest, name: string): string {
  const v = req.query.get(name);
  if (!v) throw ValidationError.of(name, 'query parameter is required');
  return v;
}

/** Consul's `?tag=a&tag=b`: an instance must carry every tag; undefined when there is none. */
export function tagsParam(req: ApiRequest): string[] | undefined {
  const tags = req.query.getAll('tag');
  return tags.length > 0 ? tags : undefined;
}

/** `?cas=N`: undefined when absent. */
export function casParam(req: ApiRequest): number | undefined {
  const v = req.query.get('cas');
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw ValidationError.of('cas', `must be a non-negative integer, got "${v}"`);
  return Number(v);
}
