// Recursive-descent parser for the X.680-X.683 subset that CSAE and SAE J2735 modules use.
import type {
  Actual,
  Assignment,
  ClassField,
  ClassNode,
  Constraint,
  ElementSet,
  Group,
  Loc,
  Member,
  Module,
  NamedNumber,
  ObjectNode,
  ObjectSetNode,
  Param,
  RefName,
  SyntaxToken,
  Tag,
  TypeNode,
  ValueNode,
} from './ast.js';
import { Asn1SyntaxError, tokenize, type Token } from './lexer.js';

const STRING_TYPES = new Set([
  'IA5String',
  'UTF8String',
  'PrintableString',
  'NumericString',
  'VisibleString',
  'ISO646String',
  'BMPString',
  'UniversalString',
  'TeletexString',
  'T61String',
  'VideotexString',
  'GraphicString',
  'GeneralString',
  'ObjectDescriptor',
  'GeneralizedTime',
  'UTCTime',
]);

/** Parse every module in one file (a file may hold several, as J2735 2016 does). */
export function parseModules(text: string, file: string): Module[] {
  const p = new Parser(tokenize(text, file), file);
  const mods: Module[] = [];
  while (!p.atEof()) mods.push(p.module());
  if (mods.length === 0) throw new Asn1SyntaxError(file, 1, 1, 'no module definition found');
  return mods;
}

const TYPE_KEYWORDS = new Set(['INTEGER', 'BOOLEAN', 'NULL', 'REAL', 'ENUMERATED', 'BIT', 'OCTET', 'SEQUENCE', 'SET', 'CHOICE', 'OBJECT', 'ANY', 'CHARACTER', 'RELATIVE-OID', 'EXTERNAL', 'EMBEDDED']);

/** A class reference is written in upper case only (X.681 7.1); type keywords are not classes. */
export function isClassName(name: string): boolean {
  return /^[A-Z][A-Z0-9-]*$/.test(name) && !STRING_TYPES.has(name) && !TYPE_KEYWORDS.has(name);
}

export class Parser {
  private i = 0;
  constructor(
    private readonly toks: Token[],
    private readonly file: string,
  ) {}

  // ---- token helpers
  atEof(): boolean {
    return this.toks[this.i]!.kind === 'eof';
  }
  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.toks[this.i]!;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === 'punct' || t.kind === 'id') && t.text === text;
  }
  private accept(text: string): boolean {
    if (this.is(text)) {
      this.i++;
      return true;
    }
    return false;
  }
  private fail(msg: string, t: Token = this.peek()): never {
    throw new Asn1SyntaxError(this.file, t.line, t.col, `${msg} (found ${JSON.stringify(t.text)})`);
  }
  private expect(text: string, what?: string): Token {
    if (!this.is(text)) this.fail(`expected ${what ?? JSON.stringify(text)}`);
    return this.next();
  }
  private ident(what = 'an identifier'): string {
    const t = this.peek();
    if (t.kind !== 'id') this.fail(`expected ${what}`);
    this.i++;
    return t.text;
  }
  private loc(t: Token = this.peek()): Loc {
    return { file: this.file, line: t.line };
  }
  private skipBraced(): void {
    this.expect('{');
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t.kind === 'eof') this.fail('unbalanced braces');
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}') depth--;
    }
  }
  /** Tokens of a balanced { ... } group, without the outer braces. */
  private bracedTokens(): Token[] {
    this.expect('{');
    const start = this.i;
    let depth = 1;
    for (;;) {
      const t = this.next();
      if (t.kind === 'eof') this.fail('unbalanced braces');
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}' && --depth === 0) break;
    }
    return this.toks.slice(start, this.i - 1);
  }

  // ---- module
  module(): Module {
    const head = this.peek();
    const name = this.ident('a module name');
    if (this.is('{')) this.skipBraced(); // module OID
    this.expect('DEFINITIONS');
    let tagDefault: Module['tagDefault'] = 'EXPLICIT';
    let extensibilityImplied = false;
    for (;;) {
      if (this.is('AUTOMATIC') || this.is('IMPLICIT') || this.is('EXPLICIT')) {
        tagDefault = this.next().text as Module['tagDefault'];
        this.expect('TAGS');
      } else if (this.accept('EXTENSIBILITY')) {
        this.expect('IMPLIED');
        extensibilityImplied = true;
      } else if (this.accept('INSTRUCTIONS')) this.ident();
      else break;
    }
    this.expect('::=');
    this.expect('BEGIN');
    const mod: Module = { name, file: this.file, line: head.line, tagDefault, extensibilityImplied, imports: [], assignments: [] };
    if (this.accept('EXPORTS')) {
      while (!this.accept(';')) {
        if (this.atEof()) this.fail('EXPORTS without ;');
        this.next();
      }
    }
    if (this.accept('IMPORTS')) this.imports(mod);
    while (!this.is('END')) {
      if (this.atEof()) this.fail(`module ${name} has no END`);
      mod.assignments.push(this.assignment());
    }
    this.expect('END');
    return mod;
  }

  private imports(mod: Module): void {
    let symbols: string[] = [];
    for (;;) {
      if (this.accept(';')) break;
      if (this.atEof()) this.fail('IMPORTS without ;');
      if (this.accept('FROM')) {
        const from = this.ident('a module name');
        mod.imports.push({ symbols, from });
        symbols = [];
        if (this.is('{')) this.skipBraced();
        else if (this.peek().kind === 'id' && /^[a-z]/.test(this.peek().text) && !this.is(',', 1) && !this.is('FROM', 1) && !this.is('{', 1)) {
          this.next(); // AssignedIdentifier given as a value reference
        }
        if (this.accept('WITH')) {
          this.next(); // SUCCESSORS | DESCENDANTS
        }
        continue;
      }
      const sym = this.ident('an imported name');
      if (this.is('{') && this.is('}', 1)) {
        this.next();
        this.next(); // parameterized reference `Name {}`
      }
      symbols.push(sym);
      this.accept(',');
    }
    if (symbols.length) this.fail('imported names without FROM');
  }

  // ---- assignments
  private assignment(): Assignment {
    const t = this.peek();
    const loc = this.loc(t);
    const name = this.ident('an assignment');
    let params: Param[] | undefined;
    if (this.is('{') && /^[A-Za-z]/.test(name)) {
      // Parameter list: only when what follows the closing brace is ::=
      const save = this.i;
      const toks = this.bracedTokens();
      if (this.is('::=')) params = this.paramList(toks);
      else this.i = save;
    }
    if (this.accept('::=')) {
      if (this.is('CLASS')) return { kind: 'class', name, params, cls: this.classBody(), loc };
      if (/^[a-z]/.test(name)) this.fail(`value assignment ${name} needs a type`);
      return { kind: 'type', name, params, type: this.type(), loc };
    }
    // `name Type ::= value` / `Name CLASS ::= { objects }` / `name CLASS ::= { object }` / `Name Type ::= { valueset }`
    const typeTok = this.peek();
    if (typeTok.kind === 'id' && isClassName(typeTok.text) && (this.is('::=', 1) || (this.is('.', 1) && this.is('::=', 3)))) {
      const className = this.refName();
      this.expect('::=');
      if (/^[A-Z]/.test(name)) return { kind: 'objectset', name, params, className, set: this.objectSet(), loc };
      return { kind: 'object', name, className, object: { tokens: this.bracedTokens(), file: this.file }, loc };
    }
    const type = this.type();
    this.expect('::=');
    if (/^[A-Z]/.test(name)) {
      const l = this.loc();
      this.expect('{');
      const set = this.elementSetSpecs(l, '}');
      this.expect('}');
      return { kind: 'valueset', name, type, set, loc };
    }
    return { kind: 'value', name, type, value: this.value(), loc };
  }

  private paramList(toks: Token[]): Param[] {
    const sub = new Parser([...toks, { kind: 'eof', text: '<end>', line: toks.at(-1)?.line ?? 0, col: 0 }], this.file);
    const params: Param[] = [];
    while (!sub.atEof()) {
      // Governor : Name, or Name
      if (sub.is(':', 1) || (sub.is('.', 1) && sub.is(':', 3))) {
        const gov = sub.refName();
        sub.expect(':');
        params.push({ governor: gov, name: sub.ident('a parameter name') });
      } else if (sub.peek().kind === 'id' && (sub.is(',', 1) || sub.peek(1).kind === 'eof')) {
        params.push({ name: sub.ident() });
      } else {
        const gov = sub.type();
        sub.expect(':');
        params.push({ governor: gov, name: sub.ident('a parameter name') });
      }
      if (!sub.accept(',')) break;
    }
    if (!sub.atEof()) sub.fail('bad parameter list');
    return params;
  }

  refName(): RefName {
    const a = this.ident('a reference');
    if (this.is('.') && this.peek(1).kind === 'id' && this.peek(1).line === this.peek().line) {
      // Module.name (external reference): only when the module part starts with a capital
      if (/^[A-Z]/.test(a) && !this.is('&', 1)) {
        this.next();
        return { module: a, name: this.ident() };
      }
    }
    return { name: a };
  }

  // ---- types
  type(): TypeNode {
    const t = this.peek();
    const loc = this.loc(t);
    let tag: Tag | undefined;
    if (this.is('[') && !this.is('[[')) tag = this.tag();
    const node = this.typeBody(loc);
    if (tag) node.tag = tag;
    // Constraints (serially applied), and SEQUENCE (SIZE..) OF handled in typeBody.
    while (this.is('(')) {
      (node.constraints ??= []).push(this.constraint());
    }
    return node;
  }

  private tag(): Tag {
    this.expect('[');
    let cls: Tag['cls'] = 'CONTEXT';
    if (this.is('UNIVERSAL') || this.is('APPLICATION') || this.is('PRIVATE')) cls = this.next().text as Tag['cls'];
    const numTok = this.next();
    if (numTok.kind !== 'num') this.fail('expected a tag number', numTok);
    this.expect(']');
    const tag: Tag = { cls, num: Number(numTok.text) };
    if (this.is('IMPLICIT') || this.is('EXPLICIT')) tag.mode = this.next().text as 'IMPLICIT' | 'EXPLICIT';
    return tag;
  }

  private typeBody(loc: Loc): TypeNode {
    const t = this.peek();
    if (t.kind !== 'id') this.fail('expected a type');
    switch (t.text) {
      case 'INTEGER': {
        this.next();
        const named = this.is('{') ? this.namedNumbers() : undefined;
        return { t: 'INTEGER', named, loc };
      }
      case 'BOOLEAN':
      case 'NULL':
      case 'REAL':
        this.next();
        return { t: t.text, loc };
      case 'OBJECT':
        this.next();
        this.expect('IDENTIFIER');
        return { t: 'OBJECT IDENTIFIER', loc };
      case 'RELATIVE-OID':
        this.next();
        return { t: 'OBJECT IDENTIFIER', loc };
      case 'ANY':
        this.next();
        if (this.accept('DEFINED')) {
          this.expect('BY');
          this.ident();
        }
        return { t: 'ANY', loc };
      case 'ENUMERATED':
        this.next();
        return { ...this.enumBody(), loc };
      case 'BIT': {
        this.next();
        this.expect('STRING');
        const named = this.is('{') ? this.namedNumbers() : undefined;
        return { t: 'BIT STRING', named, loc };
      }
      case 'OCTET':
        this.next();
        this.expect('STRING');
        return { t: 'OCTET STRING', loc };
      case 'CHARACTER':
        this.next();
        this.expect('STRING');
        return { t: 'STRING', kind: 'CHARACTER STRING', loc };
      case 'SEQUENCE':
      case 'SET': {
        this.next();
        const kw = t.text;
        if (this.is('{')) return { ...this.memberList(true), t: kw, loc };
        let sizeFirst: Constraint | undefined;
        if (this.is('(')) sizeFirst = this.constraint();
        else if (this.is('SIZE')) {
          const l = this.loc();
          this.next();
          sizeFirst = { root: { e: 'size', c: this.constraint() }, ext: false, loc: l };
        }
        this.expect('OF');
        let itemName: string | undefined;
        if (this.peek().kind === 'id' && /^[a-z]/.test(this.peek().text) && !this.is('.', 1)) itemName = this.ident();
        const item = this.type();
        return { t: kw === 'SEQUENCE' ? 'SEQUENCE OF' : 'SET OF', item, itemName, sizeFirst, loc };
      }
      case 'CHOICE': {
        this.next();
        const m = this.memberList(false);
        return { t: 'CHOICE', root: m.root, ext: m.ext, additions: m.additions, loc };
      }
      default: {
        if (STRING_TYPES.has(t.text)) {
          this.next();
          return { t: 'STRING', kind: t.text === 'ISO646String' ? 'VisibleString' : t.text, loc };
        }
        const ref = this.refName();
        if (this.is('.') && this.peek(1).kind === 'field') {
          // CLASS.&field.&field
          const path: string[] = [];
          while (this.accept('.')) {
            const f = this.next();
            if (f.kind !== 'field') this.fail('expected a &field', f);
            path.push(f.text);
          }
          return { t: 'field', cls: ref, path, loc };
        }
        let actuals: Actual[] | undefined;
        if (this.is('{') && /^[A-Z]/.test(ref.name)) actuals = this.actualParams();
        return { t: 'ref', ref, actuals, loc };
      }
    }
  }

  private actualParams(): Actual[] {
    this.expect('{');
    const out: Actual[] = [];
    for (;;) {
      const l = this.loc();
      if (this.is('{')) out.push({ a: 'set', set: this.objectSet() });
      else if (this.peek().kind === 'id' && /^[A-Z]/.test(this.peek().text)) out.push({ a: 'type', type: this.type() });
      else out.push({ a: 'value', value: this.value() });
      void l;
      if (this.accept('}')) break;
      this.expect(',', '"," or "}" in actual parameters');
    }
    return out;
  }

  private namedNumbers(): NamedNumber[] {
    this.expect('{');
    const out: NamedNumber[] = [];
    for (;;) {
      const name = this.ident('a named number');
      this.expect('(');
      const value = this.value();
      this.expect(')');
      out.push({ name, value });
      if (this.accept('}')) break;
      this.expect(',');
    }
    return out;
  }

  private enumBody(): { t: 'ENUMERATED'; root: NamedNumber[]; ext: boolean; additions: NamedNumber[] } {
    this.expect('{');
    const root: NamedNumber[] = [];
    const additions: NamedNumber[] = [];
    let ext = false;
    for (;;) {
      if (this.accept('...')) {
        if (ext) this.fail('second extension marker in ENUMERATED');
        ext = true;
        if (this.is('!')) {
          this.next();
          this.value();
        }
      } else {
        const name = this.ident('an enumeration item');
        let value: ValueNode | undefined;
        if (this.accept('(')) {
          value = this.value();
          this.expect(')');
        }
        (ext ? additions : root).push({ name, value });
      }
      if (this.accept('}')) break;
      this.expect(',', '"," or "}" in ENUMERATED');
    }
    return { t: 'ENUMERATED', root, ext, additions };
  }

  private memberList(isSeq: boolean): { root: Member[]; ext: boolean; additions: (Member | Group)[]; root2: Member[] } {
    this.expect('{');
    const root: Member[] = [];
    const additions: (Member | Group)[] = [];
    const root2: Member[] = [];
    let markers = 0;
    if (this.accept('}')) return { root, ext: false, additions, root2 };
    for (;;) {
      if (this.accept('...')) {
        markers++;
        if (markers > 2) this.fail('more than two extension markers');
        if (this.is('!')) {
          this.next();
          this.value();
        }
      } else if (this.is('[[')) {
        if (markers !== 1) this.fail('an extension addition group [[ ]] outside the extension');
        this.next();
        let version: number | undefined;
        if (this.peek().kind === 'num' && this.is(':', 1)) {
          version = Number(this.next().text);
          this.next();
        }
        const group: Member[] = [];
        for (;;) {
          group.push(this.member(isSeq));
          if (this.accept(']]')) break;
          this.expect(',', '"," or "]]"');
        }
        additions.push({ group, version });
      } else {
        const m = this.member(isSeq);
        if (markers === 0) root.push(m);
        else if (markers === 1) additions.push(m);
        else root2.push(m);
      }
      if (this.accept('}')) break;
      this.expect(',', '"," or "}" after a component');
    }
    return { root, ext: markers > 0, additions, root2 };
  }

  private member(isSeq: boolean): Member {
    if (isSeq && this.is('COMPONENTS') && this.is('OF', 1)) {
      this.next();
      this.next();
      return { name: '', type: this.type(), componentsOf: true };
    }
    const nameTok = this.peek();
    const name = this.ident('a component name');
    if (!/^[a-z]/.test(name)) this.fail(`component name ${name} must start with a lower-case letter`, nameTok);
    const type = this.type();
    const m: Member = { name, type };
    if (isSeq) {
      if (this.accept('OPTIONAL')) m.optional = true;
      else if (this.accept('DEFAULT')) m.default = this.value();
    }
    return m;
  }

  // ---- constraints
  constraint(): Constraint {
    const l = this.loc();
    this.expect('(');
    let c: Constraint;
    if (this.is('{')) {
      // table constraint: ({Set}) or ({Set}{@a.b})
      const set = this.objectSet();
      let at: string[] | undefined;
      if (this.is('{')) {
        this.next();
        this.expect('@');
        let prefix = '';
        while (this.accept('.')) prefix += '.';
        at = [prefix + this.ident()];
        while (this.accept('.')) at.push(this.ident());
        this.expect('}');
      }
      c = { root: { e: 'table', set, at }, ext: false, loc: l };
    } else if (this.is('CONSTRAINED') && this.is('BY', 1)) {
      this.next();
      this.next();
      this.skipBraced();
      c = { root: { e: 'invisible', why: 'CONSTRAINED BY' }, ext: false, loc: l };
    } else if (this.is('CONTAINING')) {
      this.next();
      const type = this.type();
      if (this.accept('ENCODED')) {
        this.expect('BY');
        this.value();
      }
      c = { root: { e: 'containing', type }, ext: false, loc: l };
    } else {
      c = this.elementSetSpecs(l, ')');
    }
    if (this.accept('!')) this.value(); // exception spec
    this.expect(')', '")" closing a constraint');
    return c;
  }

  private elementSetSpecs(l: Loc, close: string): Constraint {
    if (this.is('...')) {
      this.next();
      let additional: ElementSet | undefined;
      if (this.accept(',')) additional = this.elementSet();
      return { root: { e: 'union', items: [] }, ext: true, additional, loc: l };
    }
    const root = this.elementSet();
    let ext = false;
    let additional: ElementSet | undefined;
    if (this.accept(',')) {
      this.expect('...', '"..." after "," in a constraint');
      ext = true;
      if (this.is('!')) {
        this.next();
        this.value();
      }
      if (this.accept(',')) additional = this.elementSet();
    }
    void close;
    return { root, ext, additional, loc: l };
  }

  private elementSet(): ElementSet {
    if (this.accept('ALL')) {
      this.expect('EXCEPT');
      return { e: 'all-except', minus: this.elements() };
    }
    const items = [this.intersections()];
    while (this.accept('|') || this.accept('UNION')) items.push(this.intersections());
    return items.length === 1 ? items[0]! : { e: 'union', items };
  }

  private intersections(): ElementSet {
    const items = [this.intersectionElements()];
    while (this.accept('^') || this.accept('INTERSECTION')) items.push(this.intersectionElements());
    return items.length === 1 ? items[0]! : { e: 'intersection', items };
  }

  private intersectionElements(): ElementSet {
    const base = this.elements();
    if (this.accept('EXCEPT')) return { e: 'except', base, minus: this.elements() };
    return base;
  }

  private elements(): ElementSet {
    if (this.is('(')) {
      const l = this.loc();
      this.next();
      const inner = this.elementSetSpecs(l, ')');
      this.expect(')');
      return inner.root;
    }
    if (this.accept('SIZE')) return { e: 'size', c: this.constraint() };
    if (this.accept('FROM')) return { e: 'from', c: this.constraint() };
    if (this.accept('INCLUDES')) return { e: 'type', type: this.type() };
    if (this.accept('PATTERN')) {
      this.value();
      return { e: 'invisible', why: 'PATTERN' };
    }
    if (this.is('WITH') && (this.is('COMPONENT', 1) || this.is('COMPONENTS', 1))) {
      this.next();
      const kw = this.next().text;
      if (kw === 'COMPONENT') this.constraint();
      else this.skipBraced();
      return { e: 'invisible', why: 'WITH COMPONENTS' };
    }
    if (this.is('{')) {
      // object set used as a constraint element, or a braced value
      const set = this.objectSet();
      return { e: 'table', set };
    }
    // A type reference used as a contained subtype: an upper-case identifier that is not MIN/MAX
    const t = this.peek();
    if (t.kind === 'id' && /^[A-Z]/.test(t.text) && t.text !== 'MIN' && t.text !== 'MAX' && t.text !== 'TRUE' && t.text !== 'FALSE' && t.text !== 'NULL' && !this.is('.', 1)) {
      if (STRING_TYPES.has(t.text) || ['INTEGER', 'BOOLEAN', 'BIT', 'OCTET'].includes(t.text) || !this.is('..', 1)) {
        return { e: 'type', type: this.type() };
      }
    }
    const lb = this.value();
    let lbOpen = false;
    if (this.accept('<')) lbOpen = true;
    if (this.accept('..')) {
      let ubOpen = false;
      if (this.accept('<')) ubOpen = true;
      const ub = this.value();
      return { e: 'range', lb, ub, lbOpen, ubOpen };
    }
    if (lbOpen) this.fail('expected ".." after "<"');
    return { e: 'value', value: lb };
  }

  // ---- values
  value(): ValueNode {
    const t = this.peek();
    if (t.kind === 'num') {
      this.next();
      return { v: 'num', n: Number(t.text) };
    }
    if (t.kind === 'real') {
      this.next();
      return { v: 'real', n: Number(t.text) };
    }
    if (t.kind === 'punct' && t.text === '-') {
      this.next();
      const n = this.next();
      if (n.kind !== 'num' && n.kind !== 'real') this.fail('expected a number after "-"', n);
      return { v: n.kind === 'num' ? 'num' : 'real', n: -Number(n.text) };
    }
    if (t.kind === 'cstring') {
      this.next();
      return { v: 'cstring', s: t.text };
    }
    if (t.kind === 'bstring') {
      this.next();
      return { v: 'bstring', s: t.text };
    }
    if (t.kind === 'hstring') {
      this.next();
      return { v: 'hstring', s: t.text };
    }
    if (t.kind === 'punct' && t.text === '{') return this.bracedValue();
    if (t.kind === 'id') {
      if (t.text === 'TRUE' || t.text === 'FALSE') {
        this.next();
        return { v: 'bool', b: t.text === 'TRUE' };
      }
      if (t.text === 'NULL') {
        this.next();
        return { v: 'null' };
      }
      if (t.text === 'MIN' || t.text === 'MAX') {
        this.next();
        return { v: 'minmax', m: t.text };
      }
      // A value reference starts in lower case; an upper-case name is one only as Module.value.
      if (/^[A-Z]/.test(t.text) && !(this.is('.', 1) && this.peek(2).kind === 'id')) this.fail('expected a value');
      return { v: 'ref', ref: this.refName() };
    }
    this.fail('expected a value');
  }

  private bracedValue(): ValueNode {
    this.expect('{');
    const items: ValueNode[][] = [];
    let cur: ValueNode[] = [];
    for (;;) {
      if (this.accept('}')) break;
      if (this.accept(',')) {
        items.push(cur);
        cur = [];
        continue;
      }
      if (this.is('(')) {
        // name(number) inside an OID value
        this.next();
        cur.push(this.value());
        this.expect(')');
        continue;
      }
      cur.push(this.value());
    }
    if (cur.length) items.push(cur);
    return { v: 'braced', items };
  }

  // ---- information object classes
  private classBody(): ClassNode {
    this.expect('CLASS');
    this.expect('{');
    const fields: ClassField[] = [];
    for (;;) {
      const f = this.next();
      if (f.kind !== 'field') this.fail('expected a class field &name', f);
      const field: ClassField = { name: f.text, kind: /^&[A-Z]/.test(f.text) ? 'type' : 'value' };
      if (!this.is(',') && !this.is('}') && !this.is('OPTIONAL') && !this.is('DEFAULT') && !this.is('UNIQUE')) {
        const nt = this.peek();
        if (nt.kind === 'id' && isClassName(nt.text)) {
          this.refName();
          field.kind = /^&[A-Z]/.test(f.text) ? 'objectset' : 'object';
        } else {
          field.type = this.type();
          field.kind = /^&[A-Z]/.test(f.text) ? 'valueset' : 'value';
        }
      }
      for (;;) {
        if (this.accept('UNIQUE')) field.unique = true;
        else if (this.accept('OPTIONAL')) field.optional = true;
        else if (this.accept('DEFAULT')) field.default = field.kind === 'type' ? this.type() : this.value();
        else break;
      }
      fields.push(field);
      if (this.accept('}')) break;
      this.expect(',', '"," or "}" in CLASS');
    }
    let syntax: SyntaxToken[] | undefined;
    if (this.accept('WITH')) {
      this.expect('SYNTAX');
      this.expect('{');
      syntax = this.syntaxList('}');
    }
    return { fields, syntax };
  }

  private syntaxList(close: string): SyntaxToken[] {
    const out: SyntaxToken[] = [];
    for (;;) {
      if (this.accept(close)) return out;
      const t = this.next();
      if (t.kind === 'eof') this.fail('unterminated WITH SYNTAX');
      if (t.kind === 'field') out.push({ field: t.text });
      else if (t.kind === 'punct' && t.text === '[') out.push({ optional: this.syntaxList(']') });
      else out.push({ lit: t.text });
    }
  }

  objectSet(): ObjectSetNode {
    const loc = this.loc();
    this.expect('{');
    const elements: ObjectSetNode['elements'] = [];
    if (this.accept('}')) return { elements, loc };
    for (;;) {
      if (this.accept('...')) elements.push({ ext: true });
      else if (this.is('{')) elements.push({ object: { tokens: this.bracedTokens(), file: this.file } });
      else elements.push({ ref: this.refName() });
      if (this.accept('}')) break;
      if (!this.accept('|') && !this.accept(',') && !this.accept('UNION')) this.fail('expected "|", "," or "}" in an object set');
    }
    return { elements, loc };
  }

  /** Match an object's tokens against a class's WITH SYNTAX (or the default `&field value, ...` syntax). */
  static parseObject(obj: ObjectNode, cls: ClassNode): Map<string, TypeNode | ValueNode> {
    const toks = [...obj.tokens, { kind: 'eof' as const, text: '<end of object>', line: obj.tokens.at(-1)?.line ?? 0, col: 0 }];
    const p = new Parser(toks, obj.file);
    const out = new Map<string, TypeNode | ValueNode>();
    const fieldKind = (name: string) => {
      const f = cls.fields.find((x) => x.name === name);
      if (!f) return p.fail(`class has no field ${name}`);
      return f.kind;
    };
    const parseSetting = (name: string) => {
      const k = fieldKind(name);
      out.set(name, k === 'type' ? p.type() : p.value());
    };
    if (!cls.syntax) {
      while (!p.atEof()) {
        const f = p.next();
        if (f.kind !== 'field') p.fail('expected &field in object', f);
        parseSetting(f.text);
        p.accept(',');
      }
      return out;
    }
    const match = (syntax: SyntaxToken[], optional: boolean): boolean => {
      for (let k = 0; k < syntax.length; k++) {
        const s = syntax[k]!;
        if ('lit' in s) {
          if (!p.is(s.lit)) {
            if (optional && k === 0) return false;
            p.fail(`expected ${s.lit} in object`);
          }
          p.next();
        } else if ('field' in s) {
          if (optional && k === 0 && p.atEof()) return false;
          parseSetting(s.field);
        } else match(s.optional, true);
      }
      return true;
    };
    match(cls.syntax, false);
    if (!p.atEof()) p.fail('unexpected text in object');
    return out;
  }
}

export type { Group, Member, ObjectNode };
