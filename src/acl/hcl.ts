// A small HCL reader for the subset Consul's ACL rules use: blocks with string labels
// (`service "web" { ... }`), attributes (`policy = "read"`, `acl = "write"`), strings, numbers,
// booleans, lists, `#`, `//` and `/* */` comments. It yields the same shape HCL's JSON form has:
// a block `service "web" { policy = "read" }` becomes { service: [{ web: [{ policy: "read" }] }] }
// collapsed to { service: { web: { policy: "read" } } } when names repeat they merge in order.
// Errors carry the line and column, so a bad rule gets a 400 naming where it went wrong.
// Written here rather than taking a dependency: the grammar needed is a page, and the only npm
// HCL readers are large WASM builds of HashiCorp's Go parser.

export class HclError extends Error {
  override readonly name = 'HclError';
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
  ) {
    super(`line ${line}, column ${column}: ${message}`);
  }
}

export type HclValue = string | number | boolean | HclValue[] | HclObject;
/** An object: attributes as values, blocks as (possibly repeated) nested objects in order. */
export interface HclObject {
  [key: string]: HclValue;
}

type Tok =
  | { kind: 'ident' | 'string' | 'number'; text: string; line: number; col: number }
  | { kind: 'punct'; text: '{' | '}' | '[' | ']' | '=' | ',' | ':'; line: number; col: number }
  | { kind: 'eof'; text: ''; line: number; col: number };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const adv = (n: number) => {
    for (let k = 0; k < n; k++) {
      if (src[i] === '\n') {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      adv(1);
    } else if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') adv(1);
    } else if (c === '/' && src[i + 1] === '*') {
      const l = line;
      const cl = col;
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new HclError(l, cl, 'unterminated comment');
      adv(end + 2 - i);
    } else if ('{}[]=,:'.includes(c)) {
      toks.push({ kind: 'punct', text: c as '{', line, col });
      adv(1);
    } else if (c === '"') {
      const l = line;
      const cl = col;
      adv(1);
      let s = '';
      for (;;) {
        if (i >= src.length || src[i] === '\n') throw new HclError(l, cl, 'unterminated string');
        const d = src[i]!;
        if (d === '"') break;
        if (d === '\\') {
          const e = src[i + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
          if (e === undefined || !(e in map)) throw new HclError(line, col, `invalid escape \\${e ?? ''}`);
          s += map[e];
          adv(2);
        } else {
          s += d;
          adv(1);
        }
      }
      adv(1);
      toks.push({ kind: 'string', text: s, line: l, col: cl });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_\-.]*/.exec(src.slice(i))![0];
      toks.push({ kind: 'ident', text: m, line, col });
      adv(m.length);
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
      if (!m) throw new HclError(line, col, `unexpected character "${c}"`);
      toks.push({ kind: 'number', text: m[0], line, col });
      adv(m[0].length);
    } else {
      throw new HclError(line, col, `unexpected character "${c}"`);
    }
  }
  toks.push({ kind: 'eof', text: '', line, col });
  return toks;
}

/** Puts `value` under `key`; a repeated block key merges into the object already there. */
function assign(obj: HclObject, key: string, value: HclValue, at: Tok, isBlock: boolean): void {
  const prev = obj[key];
  if (prev === undefined) {
    obj[key] = value;
    return;
  }
  if (isBlock && typeof prev === 'object' && !Array.isArray(prev) && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) assign(prev, k, v, at, true);
    return;
  }
  throw new HclError(at.line, at.col, `"${key}" is set more than once`);
}

class Parser {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.pos]!;
  }
  private next(): Tok {
    return this.toks[this.pos++]!;
  }
  private fail(t: Tok, what: string): never {
    throw new HclError(t.line, t.col, `expected ${what}, found ${t.kind === 'eof' ? 'end of input' : `"${t.text}"`}`);
  }

  body(end: '}' | 'eof'): HclObject {
    const obj: HclObject = {};
    for (;;) {
      const t = this.peek();
      if ((end === 'eof' && t.kind === 'eof') || (end === '}' && t.kind === 'punct' && t.text === '}')) return obj;
      if (t.kind !== 'ident' && t.kind !== 'string') this.fail(t, 'an attribute or block name');
      this.next();
      const labels: Tok[] = [];
      while (this.peek().kind === 'string' || this.peek().kind === 'ident') labels.push(this.next());
      const op = this.next();
      if (op.kind === 'punct' && (op.text === '=' || op.text === ':') && labels.length === 0) {
        assign(obj, t.text, this.value(), t, false);
      } else if (op.kind === 'punct' && op.text === '{') {
        let value: HclValue = this.body('}');
        this.next();
        for (const l of [...labels].reverse()) value = { [l.text]: value };
        assign(obj, t.text, value, t, true);
      } else {
        this.fail(op, labels.length ? '"{"' : '"=" or "{"');
      }
      if (this.peek().kind === 'punct' && this.peek().text === ',') this.next();
    }
  }

  value(): HclValue {
    const t = this.next();
    if (t.kind === 'string') return t.text;
    if (t.kind === 'number') return Number(t.text);
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) return t.text === 'true';
    if (t.kind === 'punct' && t.text === '{') {
      const o = this.body('}');
      this.next();
      return o;
    }
    if (t.kind === 'punct' && t.text === '[') {
      const list: HclValue[] = [];
      for (;;) {
        const p = this.peek();
        if (p.kind === 'punct' && p.text === ']') {
          this.next();
          return list;
        }
        list.push(this.value());
        const sep = this.peek();
        if (sep.kind === 'punct' && sep.text === ',') this.next();
        else if (!(sep.kind === 'punct' && sep.text === ']')) this.fail(sep, '"," or "]"');
      }
    }
    return this.fail(t, 'a value');
  }
}

/** Parses HCL text into its JSON-equivalent object; throws HclError with line and column. */
export function parseHcl(src: string): HclObject {
  return new Parser(tokenize(src)).body('eof');
}
