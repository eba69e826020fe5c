// Route patterns: literal segments, `:name` for one segment, a trailing `*rest` for the remainder.
import type { Route } from './route.js';

export interface CompiledRoute {
  readonly route: Route;
  readonly segments: readonly string[];
}

export function compileRoute(route: Route): CompiledRoute {
  return { route, segments: route.pattern.split('/').filter(Boolean) };
}

function matchPath(segments: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (seg.startsWith('*')) {
      params[seg.slice(1)] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith(':')) params[seg.slice(1)] = decodeURIComponent(part);
    else if (seg !== part) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}

/** The route and its params; 'method' when the path matches only under other methods. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): { route: Route; params: Record<string, string> } | 'method' | undefined {
  const parts = path.split('/').filter(Boolean);
  let pathMatched = false;
  for (const r of routes) {
    const params = matchPath(r.segments, parts);
    if (!params) continue;
    if (r.route.method === method) return { route: r.route, params };
    pathMatched = true;
  }
  return pathMatched ? 'method' : undefined;
}
