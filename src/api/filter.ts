// Consul's `?filter=` expressions (hashicorp/go-bexpr) over what an endpoint answers: selectors
// name fields as Consul's JSON does (`Service.Meta.version`, `NodeMeta["os"]`, `ServiceTags`),
// with `==`, `!=`, `in`, `not in`, `contains`, `not contains`, `matches`, `not matches`,
// `is empty`, `is not empty`, joined by `and`, `or`, `not` and parentheses. Values are bare words
// (`production`, `443`, `true`), "double-quoted" or `backquoted`. A bare word compares with a
// boolean or number field by its text, as bexpr converts it to the field's type. A selector
// naming no field selects nothing (`==` is false, `!=` true). A malformed expression is a 400
// naming `filter`.
import { ValidationError } from '../core/errors.js';
import type { ApiRequest } from './route.js';

type Selector = readonly string[];
type Expr =
  | { readonly op: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly op: 'not'; readonly expr: Expr }
  | { readonly op: '==' | '!=' | 'contains' | 'not contains' | 'matches' | 'not matches'; readonly selector: Selector; readonly value: string }
  | { readonly op: 'is empty' | 'is not empty'; readonly selector: Selector };

interface Token {
  readonly kind: 'word' | 'string' | 'punct';
  readonly text: string;
}

const MAX_FILTER_CHARS = 4096;

function fail(message: string): never {
  throw ValidationError.of('filter', message);
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== c) {
        if (c === '"' && src[j] === '\\' && j + 1 < src.length) j++;
        text += src[j];
        j++;
      }
      if (j >= src.length) fail(`unterminated string starting at character ${i + 1}`);
      out.push({ kind: 'string', text });
      i = j + 1;
    } else if (src.startsWith('==', i) || src.startsWith('!=', i)) {
      out.push({ kind: 'punct', text: src.slice(i, i + 2) });
      i += 2;
    } else if ('()[]'.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
    } else {
      const m = /^[^\s()[\]"`=!]+/.exec(src.slice(i));
      if (!m) fail(`unexpected "${c}" at character ${i + 1}`);
      out.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parse(): Expr {
    const e = this.or();
    if (this.pos < this.tokens.length) fail(`unexpected "${this.tokens[this.pos]?.text}"`);
    return e;
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  private isWord(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'word' && t.text === text;
  }

  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) fail('ends too early');
    return t;
  }

  private or(): Expr {
    return this.chain('or', () => this.and());
  }

  private and(): Expr {
    return this.chain('and', () => this.not());
  }

  /** `operand (op operand)*`, left to right. */
  private chain(op: 'and' | 'or', operand: () => Expr): Expr {
    let left = operand();
    while (this.isWord(op)) {
      this.pos++;
      left = { op, left, right: operand() };
    }
    return left;
  }

  private not(): Expr {
    if (this.isWord('not')) {
      this.pos++;
      return { op: 'not', expr: this.not() };
    }
    const t = this.peek();
    if (t?.kind === 'punct' && t.text === '(') {
      this.pos++;
      const e = this.or();
      const close = this.next();
      if (close.text !== ')') fail(`expected ")", got "${close.text}"`);
      return e;
    }
    return this.match();
  }

  private value(): string {
    const t = this.next();
    if (t.kind === 'punct') fail(`expected a value, got "${t.text}"`);
    return t.text;
  }

  private selector(): Selector {
    const first = this.next();
    if (first.kind !== 'word') fail(`expected a selector, got "${first.text}"`);
    const path = first.text.split('.');
    if (path.some((p) => p === '')) fail(`"${first.text}" is not a selector`);
    for (;;) {
      const t = this.peek();
      if (t?.kind === 'punct' && t.text === '[') {
        this.pos++;
        const key = this.next();
        if (key.kind === 'punct') fail(`expected a key in [], got "${key.text}"`);
        if (this.next().text !== ']') fail('expected "]"');
        path.push(key.text);
      } else {
        return path;
      }
    }
  }

  private match(): Expr {
    // `value in Selector` / `value not in Selector`: the value comes first.
    const inAt = this.isWord('in', 1) ? 1 : this.isWord('not', 1) && this.isWord('in', 2) ? 2 : 0;
    if (inAt > 0) {
      const value = this.value();
      const negated = inAt === 2;
      this.pos += inAt;
      return { op: negated ? 'not contains' : 'contains', selector: this.selector(), value };
    }
    const selector = this.selector();
    const t = this.next();
    if (t.kind === 'punct' && (t.text === '==' || t.text === '!=')) return { op: t.text, selector, value: this.value() };
    if (t.kind === 'word' && t.text === 'is') {
      const negated = this.isWord('not');
      if (negated) this.pos++;
      if (!this.isWord('empty')) fail('expected "empty" after "is"');
      this.pos++;
      return { op: negated ? 'is not empty' : 'is empty', selector };
    }
    const negated = t.kind === 'word' && t.text === 'not';
    const word = negated ? this.next() : t;
    if (word.kind === 'word' && (word.text === 'contains' || word.text === 'matches')) {
      const value = this.value();
      if (word.text === 'matches') {
        try {
          new RegExp(value);
        } catch {
          fail(`"${value}" is not a regular expression`);
        }
      }
      return { op: `${negated ? 'not ' : ''}${word.text}` as 'contains' | 'not contains' | 'matches' | 'not matches', selector, value };
    }
    return fail(`expected an operator after ${selector.join('.')}, got "${word.text}"`);
  }
}

export type Filter = (item: unknown) => boolean;

function select(item: unknown, path: Selector): unknown {
  let v: unknown = item;
  for (const part of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = Object.hasOwn(v, part) ? (v as Record<string, unknown>)[part] : undefined;
  }
  return v;
}

function equals(field: unknown, value: string): boolean {
  if (typeof field === 'string') return field === value;
  if (typeof field === 'boolean' || typeof field === 'number') return String(field) === value;
  return false;
}

function contains(field: unknown, value: string): boolean {
  if (typeof field === 'string') return field.includes(value);
  if (Array.isArray(field)) return field.some((x) => equals(x, value));
  if (field !== null && typeof field === 'object') return Object.hasOwn(field, value);
  return false;
}

function isEmpty(field: unknown): boolean {
  if (field === undefined || field === null || field === '') return true;
  if (Array.isArray(field)) return field.length === 0;
  if (typeof field === 'object') return Object.keys(field).length === 0;
  return false;
}

function evaluate(e: Expr, item: unknown): boolean {
  switch (e.op) {
    case 'and':
      return evaluate(e.left, item) && evaluate(e.right, item);
    case 'or':
      return evaluate(e.left, item) || evaluate(e.right, item);
    case 'not':
      return !evaluate(e.expr, item);
    case '==':
      return equals(select(item, e.selector), e.value);
    case '!=':
      return !equals(select(item, e.selector), e.value);
    case 'contains':
      return contains(select(item, e.selector), e.value);
    case 'not contains':
      return !contains(select(item, e.selector), e.value);
    case 'matches':
    case 'not matches': {
      const field = select(item, e.selector);
      const hit = typeof field === 'string' && new RegExp(e.value).test(field);
      return e.op === 'matches' ? hit : !hit;
    }
    case 'is empty':
      return isEmpty(select(item, e.selector));
    case 'is not empty':
      return !isEmpty(select(item, e.selector));
  }
}

/** Parses a filter expression (throws a 400 naming `filter` when it is malformed). */
export function parseFilter(src: string): Filter {
  if (src.length > MAX_FILTER_CHARS) fail(`must be at most ${MAX_FILTER_CHARS} characters`);
  const tokens = tokenize(src);
  if (tokens.length === 0) fail('must not be empty');
  const expr = new Parser(tokens).parse();
  return (item) => evaluate(expr, item);
}

/** The request's `?filter=` as a predicate (everything passes without one). */
export function filterParam(req: ApiRequest): Filter {
  const src = req.query.get('filter');
  return src === null || src.trim() === '' ? () => true : parseFilter(src);
}

/** Consul's `?node-meta=key:value` (repeatable): a node must carry every pair. */
export function nodeMetaParam(req: ApiRequest): (meta: Readonly<Record<string, string>> | undefined) => boolean {
  const pairs = req.query.getAll('node-meta').map((p) => {
    const i = p.indexOf(':');
    if (i <= 0) throw ValidationError.of('node-meta', `must be key:value, got "${p}"`);
    return [p.slice(0, i), p.slice(i + 1)] as const;
  });
  return (meta) => pairs.every(([k, v]) => meta?.[k] === v);
}
