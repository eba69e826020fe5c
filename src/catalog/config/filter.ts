// The subset of Consul's filter language (go-bexpr) that a service-resolver's `Subsets.*.Filter`
// is written in: selectors over an instance (Service.ID, Service.Service, Service.Tags,
// Service.Meta.<key>, Node.Node, Node.Meta.<key>), the matches ==, !=, in, not in, contains,
// not contains, matches, not matches, is empty, is not empty, combined with and, or, not and
// parentheses. Parsed once at write (a syntax error or an unsupported selector is a 400 naming
// the subset), evaluated by proxycfg for every instance of the subset's service.

/** What a filter sees of one instance. */
export interface FilterSubject {
  readonly serviceId: string;
  readonly service: string;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly node: string;
  readonly nodeMeta: Readonly<Record<string, string>>;
}

export type Predicate = (s: FilterSubject) => boolean;

type Value = string | readonly string[] | Readonly<Record<string, string>> | undefined;

const SELECTORS: Readonly<Record<string, (s: FilterSubject, key?: string) => Value>> = {
  'Service.ID': (s) => s.serviceId,
  'Service.Service': (s) => s.service,
  'Service.Tags': (s) => s.tags,
  'Service.Meta': (s, k) => (k === undefined ? s.meta : Object.hasOwn(s.meta, k) ? s.meta[k] : undefined),
  'Node.Node': (s) => s.node,
  'Node.Meta': (s, k) => (k === undefined ? s.nodeMeta : Object.hasOwn(s.nodeMeta, k) ? s.nodeMeta[k] : undefined),
};

type Token = { readonly kind: 'word' | 'string' | 'op' | 'paren'; readonly text: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: 'paren', text: c });
      i++;
    } else if (c === '=' || c === '!') {
      if (src[i + 1] !== '=') throw new Error(`unexpected "${c}" at ${i + 1}`);
      tokens.push({ kind: 'op', text: `${c}=` });
      i += 2;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== c) {
        if (c === '"' && src[j] === '\\' && j + 1 < src.length) j++;
        text += src[j];
        j++;
      }
      if (j >= src.length) throw new Error(`unterminated string at ${i + 1}`);
      tokens.push({ kind: 'string', text });
      i = j + 1;
    } else {
      const m = /^(?:[^\s()"`=![]|\["[^"]*"\])+/.exec(src.slice(i));
      if (!m) throw new Error(`unexpected "${c}" at ${i + 1}`);
      tokens.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

interface Selector {
  readonly name: string;
  readonly key?: string;
}

function parseSelector(text: string): Selector {
  const m = /^(Service|Node)\.(ID|Service|Tags|Meta|Node)(?:\.(.+)|\["(.+)"\])?$/.exec(text);
  const name = m ? `${m[1]}.${m[2]}` : text;
  const key = m?.[3] ?? m?.[4];
  if (!m || !Object.hasOwn(SELECTORS, name) || (key !== undefined && !name.endsWith('.Meta'))) {
    throw new Error(`selector "${text}" is not supported yet (supported: ${Object.keys(SELECTORS).join(', ')}, Service.Meta.<key>, Node.Meta.<key>)`);
  }
  return key === undefined ? { name } : { name, key };
}

const read = (sel: Selector, s: FilterSubject) => (SELECTORS[sel.name] as (s: FilterSubject, key?: string) => Value)(s, sel.key);

function contains(v: Value, needle: string): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string') return v.includes(needle);
  if (Array.isArray(v)) return v.includes(needle);
  return Object.hasOwn(v, needle);
}

function isEmpty(v: Value): boolean {
  if (v === undefined) return true;
  if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
  return Object.keys(v).length === 0;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parse(): Predicate {
    const p = this.or();
    if (this.pos < this.tokens.length) throw new Error(`unexpected "${this.tokens[this.pos]?.text}"`);
    return p;
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  private isWord(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'word' && t.text === text;
  }

  private next(what: string): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new Error(`expected ${what} at the end`);
    return t;
  }

  private or(): Predicate {
    return this.joined('or', () => this.and(), (parts) => (s) => parts.some((p) => p(s)));
  }

  private and(): Predicate {
    return this.joined('and', () => this.unary(), (parts) => (s) => parts.every((p) => p(s)));
  }

  /** `operand (word operand)*`, combined when there is more than one. */
  private joined(word: string, operand: () => Predicate, combine: (parts: readonly Predicate[]) => Predicate): Predicate {
    const parts = [operand()];
    while (this.isWord(word)) {
      this.pos++;
      parts.push(operand());
    }
    return parts.length === 1 ? (parts[0] as Predicate) : combine(parts);
  }

  private unary(): Predicate {
    if (this.isWord('not')) {
      this.pos++;
      const inner = this.unary();
      return (s) => !inner(s);
    }
    const t = this.peek();
    if (t?.kind === 'paren' && t.text === '(') {
      this.pos++;
      const inner = this.or();
      const close = this.next('")"');
      if (close.text !== ')') throw new Error(`expected ")" but found "${close.text}"`);
      return inner;
    }
    return this.match();
  }

  private value(): string {
    const t = this.next('a value');
    if (t.kind !== 'string' && t.kind !== 'word') throw new Error(`expected a value but found "${t.text}"`);
    return t.text;
  }

  private match(): Predicate {
    // `value in selector` / `value not in selector`
    if (this.isWord('in', 1) || (this.isWord('not', 1) && this.isWord('in', 2))) {
      const needle = this.value();
      const negate = this.isWord('not');
      this.pos += negate ? 2 : 1;
      const sel = parseSelector(this.next('a selector').text);
      return negate ? (s) => !contains(read(sel, s), needle) : (s) => contains(read(sel, s), needle);
    }
    const selTok = this.next('a selector');
    if (selTok.kind !== 'word') throw new Error(`expected a selector but found "${selTok.text}"`);
    const sel = parseSelector(selTok.text);
    const op = this.next('an operator');
    if (op.kind === 'op') {
      const want = this.value();
      const eq = (s: FilterSubject) => read(sel, s) === want;
      return op.text === '==' ? eq : (s) => !eq(s);
    }
    let negate = false;
    let word = op.text;
    if (word === 'not') {
      negate = true;
      word = this.next('an operator').text;
    }
    if (word === 'is') {
      if (this.isWord('not')) {
        this.pos++;
        negate = !negate;
      }
      const e = this.next('"empty"');
      if (e.text !== 'empty') throw new Error(`expected "empty" but found "${e.text}"`);
      return (s) => isEmpty(read(sel, s)) !== negate;
    }
    if (word === 'contains') {
      const needle = this.value();
      return (s) => contains(read(sel, s), needle) !== negate;
    }
    if (word === 'matches') {
      const source = this.value();
      let re: RegExp;
      try {
        re = new RegExp(source);
      } catch {
        throw new Error(`"${source}" is not a valid regular expression`);
      }
      return (s) => {
        const v = read(sel, s);
        return (typeof v === 'string' && re.test(v)) !== negate;
      };
    }
    throw new Error(`unknown operator "${word}" (supported: ==, !=, in, not in, contains, not contains, matches, not matches, is empty, is not empty)`);
  }
}

/** The filter as a predicate; throws an Error whose message says what is wrong. */
export function parseFilter(expression: string): Predicate {
  const tokens = tokenize(expression);
  if (tokens.length === 0) return () => true;
  return new Parser(tokens).parse();
}

/** A message when the expression is not a valid filter, else undefined. */
export function filterProblem(expression: string): string | undefined {
  try {
    parseFilter(expression);
    return undefined;
  } catch (e) {
    return `is not a valid filter: ${(e as Error).message}`;
  }
}
