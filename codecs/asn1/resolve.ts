// Resolves parsed modules into the PER-ready IR: imports, references, parameterized types,
// information object sets and table constraints, and the PER-visible part of every constraint.
import type {
  Actual,
  Assignment,
  ClassNode,
  Constraint,
  ElementSet,
  Group,
  Loc,
  Member,
  Module,
  ObjectSetNode,
  RefName,
  TypeNode,
  ValueNode,
} from './ast.js';
import type { Alt, Field, IR, MessageSetIR, NamedType, OpenTable, SizeC } from './ir.js';
import { Parser } from './parser.js';

export class Asn1SemanticError extends Error {
  constructor(
    readonly loc: Loc | undefined,
    readonly problem: string,
  ) {
    super(loc ? `${loc.file}:${loc.line}: ${problem}` : problem);
    this.name = 'Asn1SemanticError';
  }
}

interface Scope {
  module: Module;
  env?: Map<string, Bound>;
}

type Bound = { actual: Actual; scope: Scope };

interface ResolvedObject {
  fields: Map<string, { node: TypeNode | ValueNode; scope: Scope }>;
}

const STRUCTURED = new Set(['SEQUENCE', 'SET', 'CHOICE', 'SEQUENCE OF', 'SET OF']);

const PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?";
const BASE_ALPHABETS: Record<string, number[]> = {
  IA5String: range(0, 127),
  VisibleString: range(32, 126),
  PrintableString: [...PRINTABLE].map((c) => c.charCodeAt(0)).sort((a, b) => a - b),
  NumericString: [...' 0123456789'].map((c) => c.charCodeAt(0)),
};

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

export function resolveModules(modules: Module[]): MessageSetIR {
  return new Resolver(modules).run();
}

class Resolver {
  private mods = new Map<string, Module>();
  private assigns = new Map<string, Map<string, Assignment>>();
  private named = new Map<string, NamedType>(); // key Module.Name or instance key
  private resolving = new Set<string>();
  private queue: string[] = [];
  private uniqueName = new Map<string, string>(); // key -> unique name
  private nameCount = new Map<string, number>();
  private instanceScopes = new Map<string, { assign: Assignment & { kind: 'type' }; scope: Scope }>();

  constructor(modules: Module[]) {
    for (const m of modules) {
      if (this.mods.has(m.name)) {
        const prev = this.mods.get(m.name)!;
        throw new Asn1SemanticError({ file: m.file, line: m.line }, `module ${m.name} is defined twice (also in ${prev.file}:${prev.line})`);
      }
      this.mods.set(m.name, m);
      const table = new Map<string, Assignment>();
      for (const a of m.assignments) {
        if (table.has(a.name)) throw new Asn1SemanticError(a.loc, `${a.name} is defined twice in module ${m.name}`);
        table.set(a.name, a);
        if (a.kind === 'type' && !a.params) this.nameCount.set(a.name, (this.nameCount.get(a.name) ?? 0) + 1);
      }
      this.assigns.set(m.name, table);
    }
    for (const m of modules) {
      for (const imp of m.imports) {
        if (!this.mods.has(imp.from)) {
          throw new Asn1SemanticError({ file: m.file, line: m.line }, `module ${m.name} imports from module ${imp.from}, which is not in the set`);
        }
      }
    }
  }

  run(): MessageSetIR {
    for (const m of this.mods.values()) {
      for (const a of m.assignments) if (a.kind === 'type' && !a.params) this.ensureNamed(m, a.name, a.loc);
    }
    while (this.queue.length) this.resolveNamed(this.queue.shift()!);
    const types = new Map<string, NamedType>();
    const aliases = new Map<string, string>();
    for (const [key, nt] of this.named) {
      types.set(nt.name, nt);
      aliases.set(key, nt.name);
    }
    return { types, aliases };
  }

  // ---- names
  private lookup(scope: Scope, ref: RefName, loc: Loc | undefined): { module: Module; assign: Assignment } {
    if (!ref.module && scope.env?.has(ref.name)) throw new Error('internal: parameter looked up as assignment');
    let mod = ref.module ? this.mods.get(ref.module) : scope.module;
    if (!mod) throw new Asn1SemanticError(loc, `unknown module ${ref.module} in reference ${ref.module}.${ref.name}`);
    const seen = new Set<string>();
    for (;;) {
      const a = this.assigns.get(mod.name)!.get(ref.name);
      if (a) return { module: mod, assign: a };
      const imp: Module['imports'][number] | undefined = mod.imports.find((i) => i.symbols.includes(ref.name));
      if (!imp || seen.has(mod.name)) {
        throw new Asn1SemanticError(loc, `${ref.name} is not defined in module ${mod.name}${ref.module ? '' : ' nor imported'}`);
      }
      seen.add(mod.name);
      mod = this.mods.get(imp.from)!;
    }
  }

  private keyOf(module: Module, name: string): string {
    return `${module.name}.${name}`;
  }

  private ensureNamed(module: Module, name: string, loc: Loc | undefined): string {
    const key = this.keyOf(module, name);
    if (!this.named.has(key)) {
      const unique = (this.nameCount.get(name) ?? 0) > 1 ? key : name;
      this.uniqueName.set(key, unique);
      this.named.set(key, { name: unique, module: module.name, asnName: name, ir: { k: 'null' } });
      this.queue.push(key);
      void loc;
    }
    return this.uniqueName.get(key)!;
  }

  private resolveNamed(key: string): IR {
    const nt = this.named.get(key)!;
    if (this.resolving.has(key)) return nt.ir;
    if ((nt as { done?: boolean }).done) return nt.ir;
    this.resolving.add(key);
    try {
      const inst = this.instanceScopes.get(key);
      if (inst) nt.ir = this.typeIR(inst.assign.type, inst.scope);
      else {
        const mod = this.mods.get(nt.module)!;
        const a = this.assigns.get(mod.name)!.get(nt.asnName)!;
        if (a.kind !== 'type') throw new Asn1SemanticError(a.loc, `${a.name} is not a type`);
        nt.ir = this.typeIR(a.type, { module: mod });
      }
      (nt as { done?: boolean }).done = true;
    } finally {
      this.resolving.delete(key);
    }
    return nt.ir;
  }

  // ---- types
  private typeIR(node: TypeNode, scope: Scope): IR {
    let ir = this.bodyIR(node, scope);
    for (const c of node.constraints ?? []) ir = this.applyConstraint(ir, c, scope, node.loc);
    return ir;
  }

  private isStructured(node: TypeNode, scope: Scope, depth = 0): boolean {
    if (depth > 50) throw new Asn1SemanticError(node.loc, 'type reference cycle');
    if (STRUCTURED.has(node.t)) return true;
    if (node.t !== 'ref') return false;
    if (!node.ref.module && scope.env?.has(node.ref.name)) {
      const b = scope.env.get(node.ref.name)!;
      return b.actual.a === 'type' && this.isStructured(b.actual.type, b.scope, depth + 1);
    }
    const { module, assign } = this.lookup(scope, node.ref, node.loc);
    if (assign.kind !== 'type') return false;
    if (assign.params) return true;
    return this.isStructured(assign.type, { module }, depth + 1);
  }

  private bodyIR(node: TypeNode, scope: Scope): IR {
    switch (node.t) {
      case 'INTEGER': {
        const ir: IR = { k: 'int', lb: undefined, ub: undefined, ext: false };
        if (node.named?.length) ir.named = node.named.map((n) => [n.name, this.intValue(n.value!, scope, node.loc)] as [string, number]);
        return ir;
      }
      case 'BOOLEAN':
        return { k: 'bool' };
      case 'NULL':
        return { k: 'null' };
      case 'ENUMERATED':
        return this.enumIR(node, scope);
      case 'BIT STRING': {
        const named = node.named?.map((n) => [n.name, this.intValue(n.value!, scope, node.loc)] as [string, number]);
        return { k: 'bits', size: { lb: 0, ub: undefined, ext: false }, named };
      }
      case 'OCTET STRING':
        return { k: 'octets', size: { lb: 0, ub: undefined, ext: false } };
      case 'STRING': {
        const base = BASE_ALPHABETS[node.kind];
        if (node.kind === 'BMPString' || node.kind === 'UniversalString') {
          throw new Asn1SemanticError(node.loc, `${node.kind} is not supported by this codec`);
        }
        if (!base) return { k: 'str', kind: node.kind, size: { lb: 0, ub: undefined, ext: false }, km: false, bits: 8, direct: true, alphabet: null };
        return { k: 'str', kind: node.kind, size: { lb: 0, ub: undefined, ext: false }, km: true, ...alphabetInfo(base), alphabet: base };
      }
      case 'SEQUENCE':
      case 'SET':
        return this.seqIR(node, scope);
      case 'CHOICE':
        return this.choiceIR(node, scope);
      case 'SEQUENCE OF':
      case 'SET OF': {
        const item = this.typeIR(node.item, scope);
        let ir: IR = { k: 'seqof', item, size: { lb: 0, ub: undefined, ext: false } };
        if (node.sizeFirst) ir = this.applyConstraint(ir, node.sizeFirst, scope, node.loc);
        return ir;
      }
      case 'ref':
        return this.refIR(node, scope);
      case 'field':
        return this.fieldIR(node, scope);
      case 'OBJECT IDENTIFIER':
        return { k: 'oid' };
      case 'REAL':
      case 'ANY':
        throw new Asn1SemanticError(node.loc, `${node.t} is not supported by this codec`);
    }
  }

  private refIR(node: TypeNode & { t: 'ref' }, scope: Scope): IR {
    if (!node.ref.module && scope.env?.has(node.ref.name)) {
      const b = scope.env.get(node.ref.name)!;
      if (b.actual.a !== 'type') throw new Asn1SemanticError(node.loc, `parameter ${node.ref.name} is not a type`);
      return this.typeIR(b.actual.type, b.scope);
    }
    const { module, assign } = this.lookup(scope, node.ref, node.loc);
    if (assign.kind !== 'type') throw new Asn1SemanticError(node.loc, `${node.ref.name} is not a type`);
    if (assign.params) {
      if (!node.actuals) throw new Asn1SemanticError(node.loc, `${node.ref.name} is parameterized: give its actual parameters`);
      return { k: 'ref', name: this.instantiate(module, assign, node.actuals, scope, node.loc) };
    }
    if (node.actuals) throw new Asn1SemanticError(node.loc, `${node.ref.name} takes no parameters`);
    const name = this.ensureNamed(module, assign.name, node.loc);
    const key = this.keyOf(module, assign.name);
    if (this.isStructured(assign.type, { module })) {
      // A structured type is referenced by name; a constrained reference gets a copy to constrain.
      if (node.constraints?.length) return structuredClone(this.resolveNamed(key));
      return { k: 'ref', name };
    }
    return structuredClone(this.resolveNamed(key));
  }

  private instantiate(module: Module, assign: Assignment & { kind: 'type' }, actuals: Actual[], scope: Scope, loc: Loc): string {
    const params = assign.params!;
    if (params.length !== actuals.length) {
      throw new Asn1SemanticError(loc, `${assign.name} takes ${params.length} parameter(s), ${actuals.length} given`);
    }
    const env = new Map<string, Bound>();
    const desc: string[] = [];
    params.forEach((p, i) => {
      env.set(p.name, { actual: actuals[i]!, scope });
      desc.push(describeActual(actuals[i]!));
    });
    const key = `${this.keyOf(module, assign.name)}{${desc.join(',')}}`;
    if (!this.named.has(key)) {
      const unique = `${(this.nameCount.get(assign.name) ?? 0) > 1 ? module.name + '.' : ''}${assign.name}{${desc.join(',')}}`;
      this.uniqueName.set(key, unique);
      this.named.set(key, { name: unique, module: module.name, asnName: assign.name, ir: { k: 'null' } });
      this.instanceScopes.set(key, { assign, scope: { module, env } });
      this.queue.push(key);
    }
    return this.uniqueName.get(key)!;
  }

  private enumIR(node: TypeNode & { t: 'ENUMERATED' }, scope: Scope): IR {
    const assign = (items: { name: string; value?: ValueNode }[], used: Set<number>) => {
      const out: { name: string; value: number }[] = [];
      for (const it of items) if (it.value) out.push({ name: it.name, value: this.intValue(it.value, scope, node.loc) });
      out.forEach((o) => used.add(o.value));
      let next = 0;
      const all: { name: string; value: number }[] = [];
      for (const it of items) {
        if (it.value) all.push(out.find((o) => o.name === it.name)!);
        else {
          while (used.has(next)) next++;
          used.add(next);
          all.push({ name: it.name, value: next });
        }
      }
      return all;
    };
    const used = new Set<number>();
    const root = assign(node.root, used).sort((a, b) => a.value - b.value);
    // Additions without a number take the next value above the largest so far (X.680 20.4).
    const adds: { name: string; value: number }[] = [];
    let last = Math.max(-1, ...root.map((r) => r.value));
    for (const it of node.additions) {
      const v = it.value ? this.intValue(it.value, scope, node.loc) : last + 1;
      adds.push({ name: it.name, value: v });
      last = Math.max(last, v);
    }
    adds.sort((a, b) => a.value - b.value);
    const names = new Set<string>();
    for (const x of [...root, ...adds]) {
      if (names.has(x.name)) throw new Asn1SemanticError(node.loc, `enumeration item ${x.name} appears twice`);
      names.add(x.name);
    }
    return {
      k: 'enum',
      root: root.map((r) => r.name),
      ext: node.ext || scope.module.extensibilityImplied,
      adds: adds.map((a) => a.name),
      values: root.map((r) => r.value),
      addValues: adds.map((a) => a.value),
    };
  }

  private memberField(m: Member, scope: Scope, siblings: Member[]): Field {
    let type: IR;
    if (m.type.t === 'field' && m.type.constraints?.some((c) => c.root.e === 'table' && c.root.at)) {
      type = this.openWithTable(m.type, scope, siblings);
    } else type = this.typeIR(m.type, scope);
    const f: Field = { name: m.name, type, opt: !!m.optional || m.default !== undefined };
    if (m.default !== undefined) f.def = this.valueJS(m.default, type, scope, m.type.loc);
    return f;
  }

  private expandMembers(members: Member[], scope: Scope): Member[] {
    const out: Member[] = [];
    for (const m of members) {
      if (!m.componentsOf) {
        out.push(m);
        continue;
      }
      let t = m.type;
      let s = scope;
      for (let guard = 0; t.t === 'ref' && guard < 20; guard++) {
        const { module, assign } = this.lookup(s, t.ref, t.loc);
        if (assign.kind !== 'type') break;
        t = assign.type;
        s = { module };
      }
      if (t.t !== 'SEQUENCE' && t.t !== 'SET') throw new Asn1SemanticError(m.type.loc, 'COMPONENTS OF needs a SEQUENCE type');
      out.push(...this.expandMembers([...t.root, ...t.root2], s));
    }
    return out;
  }

  private seqIR(node: TypeNode & { t: 'SEQUENCE' | 'SET' }, scope: Scope): IR {
    const root = this.expandMembers([...node.root, ...node.root2], scope);
    const all = [...root, ...node.additions.flatMap((a) => ('group' in a ? a.group : [a]))];
    const seen = new Set<string>();
    for (const m of all) {
      if (seen.has(m.name)) throw new Asn1SemanticError(node.loc, `component ${m.name} appears twice`);
      seen.add(m.name);
    }
    const fields = root.map((m) => this.memberField(m, scope, all));
    const adds = node.additions.map((a) =>
      'group' in a ? { group: (a as Group).group.map((m) => this.memberField(m, scope, all)) } : { field: this.memberField(a as Member, scope, all) },
    );
    return { k: 'seq', fields, ext: node.ext || scope.module.extensibilityImplied, adds };
  }

  private choiceIR(node: TypeNode & { t: 'CHOICE' }, scope: Scope): IR {
    let root = node.root;
    // Without automatic tagging, alternatives are ordered by tag (X.691 23.4); with it, textual order.
    if (scope.module.tagDefault !== 'AUTOMATIC' || root.some((m) => m.type.tag)) {
      if (root.every((m) => m.type.tag)) {
        const order = { UNIVERSAL: 0, APPLICATION: 1, CONTEXT: 2, PRIVATE: 3 };
        root = [...root].sort((a, b) => order[a.type.tag!.cls] - order[b.type.tag!.cls] || a.type.tag!.num - b.type.tag!.num);
      }
    }
    const addMembers = node.additions.flatMap((a) => ('group' in a ? a.group : [a]));
    // Automatic tagging numbers the alternatives in textual order, additions included, unless the root has tags (X.680 25.3).
    const automatic = scope.module.tagDefault === 'AUTOMATIC' && !node.root.some((m) => m.type.tag);
    const order = { UNIVERSAL: 0, APPLICATION: 1, CONTEXT: 2, PRIVATE: 3 };
    const tagOf = (m: Member, i: number): [number, number] | undefined => {
      if (automatic) return [2, i];
      if (m.type.tag) return [order[m.type.tag.cls], m.type.tag.num];
      return this.universalTag(m.type, scope);
    };
    const alts: Alt[] = root.map((m) => ({ name: m.name, type: this.typeIR(m.type, scope), tag: tagOf(m, node.root.indexOf(m)) }));
    const adds: Alt[] = addMembers.map((m, i) => ({ name: m.name, type: this.typeIR(m.type, scope), tag: tagOf(m, node.root.length + i) }));
    for (const a of [...alts, ...adds]) if (!a.tag) delete a.tag;
    return { k: 'choice', alts, ext: node.ext || scope.module.extensibilityImplied, adds };
  }

  /** The universal tag of an untagged type (a CHOICE has none of its own: undefined). */
  private universalTag(node: TypeNode, scope: Scope, depth = 0): [number, number] | undefined {
    if (node.tag) return [{ UNIVERSAL: 0, APPLICATION: 1, CONTEXT: 2, PRIVATE: 3 }[node.tag.cls], node.tag.num];
    if (depth > 30) return undefined;
    const STR: Record<string, number> = { UTF8String: 12, NumericString: 18, PrintableString: 19, TeletexString: 20, T61String: 20, VideotexString: 21, IA5String: 22, UTCTime: 23, GeneralizedTime: 24, GraphicString: 25, VisibleString: 26, ISO646String: 26, GeneralString: 27, UniversalString: 28, BMPString: 30 };
    switch (node.t) {
      case 'BOOLEAN': return [0, 1];
      case 'INTEGER': return [0, 2];
      case 'BIT STRING': return [0, 3];
      case 'OCTET STRING': return [0, 4];
      case 'NULL': return [0, 5];
      case 'OBJECT IDENTIFIER': return [0, 6];
      case 'REAL': return [0, 9];
      case 'ENUMERATED': return [0, 10];
      case 'SEQUENCE': case 'SEQUENCE OF': return [0, 16];
      case 'SET': case 'SET OF': return [0, 17];
      case 'STRING': return STR[node.kind] === undefined ? undefined : [0, STR[node.kind]!];
      case 'ref': {
        if (!node.ref.module && scope.env?.has(node.ref.name)) {
          const b = scope.env.get(node.ref.name)!;
          return b.actual.a === 'type' ? this.universalTag(b.actual.type, b.scope, depth + 1) : undefined;
        }
        const { module, assign } = this.lookup(scope, node.ref, node.loc);
        return assign.kind === 'type' ? this.universalTag(assign.type, { module }, depth + 1) : undefined;
      }
      default: return undefined;
    }
  }

  // ---- information objects
  private classOf(ref: RefName, scope: Scope, loc: Loc): { cls: ClassNode; scope: Scope } {
    const { module, assign } = this.lookup(scope, ref, loc);
    if (assign.kind !== 'class') throw new Asn1SemanticError(loc, `${ref.name} is not an information object class`);
    return { cls: assign.cls, scope: { module } };
  }

  private fieldIR(node: TypeNode & { t: 'field' }, scope: Scope): IR {
    const { cls, scope: cscope } = this.classOf(node.cls, scope, node.loc);
    if (node.path.length !== 1) throw new Asn1SemanticError(node.loc, 'only one-level class field references are supported');
    const f = cls.fields.find((x) => x.name === node.path[0]);
    if (!f) throw new Asn1SemanticError(node.loc, `class ${node.cls.name} has no field ${node.path[0]}`);
    if (f.kind === 'type') return { k: 'open' }; // open type without a usable table constraint
    if (f.kind === 'value' && f.type) return this.typeIR(f.type, cscope); // table constraints are not PER-visible
    throw new Asn1SemanticError(node.loc, `class field ${node.path[0]} cannot be used as a type`);
  }

  private openWithTable(node: TypeNode & { t: 'field' }, scope: Scope, siblings: Member[]): IR {
    const { cls, scope: cscope } = this.classOf(node.cls, scope, node.loc);
    const c = node.constraints!.find((x) => x.root.e === 'table' && x.root.at)!;
    const tc = c.root as ElementSet & { e: 'table' };
    const at = tc.at!;
    if (at.length !== 1 || at[0]!.startsWith('..')) throw new Asn1SemanticError(node.loc, `only sibling component references are supported in {@${at.join('.')}}`);
    const idName = at[0]!.replace(/^\./, '');
    const idMember = siblings.find((m) => m.name === idName);
    if (!idMember || idMember.type.t !== 'field') throw new Asn1SemanticError(node.loc, `{@${idName}} must name a sibling component of type CLASS.&field`);
    const idField = idMember.type.path[0]!;
    const idFieldDef = cls.fields.find((f) => f.name === idField);
    if (!idFieldDef?.type) throw new Asn1SemanticError(node.loc, `class field ${idField} has no fixed type`);
    const idIR = this.typeIR(idFieldDef.type, cscope);
    const set = this.objectSet(tc.set, scope, cls, node.loc);
    const rows: OpenTable['rows'] = [];
    for (const o of set.objects) {
      const idv = o.fields.get(idField);
      const tv = o.fields.get(node.path[0]!);
      if (!idv || !tv) continue;
      const id = this.valueJS(idv.node as ValueNode, idIR, idv.scope, node.loc);
      if (rows.some((r) => r.id === id)) continue; // duplicates from unions of sets
      rows.push({ id, type: this.typeIR(tv.node as TypeNode, tv.scope) });
    }
    const table: OpenTable = { idField: idName, rows, ext: set.ext };
    return { k: 'open', table };
  }

  private objectSet(node: ObjectSetNode, scope: Scope, cls: ClassNode, loc: Loc, depth = 0): { objects: ResolvedObject[]; ext: boolean } {
    if (depth > 30) throw new Asn1SemanticError(loc, 'object set reference cycle');
    const objects: ResolvedObject[] = [];
    let ext = false;
    for (const el of node.elements) {
      if ('ext' in el) ext = true;
      else if ('object' in el) objects.push(this.parseObject(el.object, cls, scope));
      else {
        const ref = el.ref;
        if (!ref.module && scope.env?.has(ref.name)) {
          const b = scope.env.get(ref.name)!;
          let setNode: ObjectSetNode;
          if (b.actual.a === 'set') setNode = b.actual.set;
          else if (b.actual.a === 'type' && b.actual.type.t === 'ref') setNode = { elements: [{ ref: b.actual.type.ref }], loc };
          else throw new Asn1SemanticError(loc, `parameter ${ref.name} is not an object set`);
          const r = this.objectSet(setNode, b.scope, cls, loc, depth + 1);
          objects.push(...r.objects);
          ext ||= r.ext;
          continue;
        }
        const { module, assign } = this.lookup(scope, ref, node.loc);
        if (assign.kind === 'objectset') {
          const r = this.objectSet(assign.set, { module }, cls, assign.loc, depth + 1);
          objects.push(...r.objects);
          ext ||= r.ext;
        } else if (assign.kind === 'object') objects.push(this.parseObject(assign.object, cls, { module }));
        else throw new Asn1SemanticError(node.loc, `${ref.name} is not an object or object set`);
      }
    }
    return { objects, ext };
  }

  private parseObject(obj: import('./ast.js').ObjectNode, cls: ClassNode, scope: Scope): ResolvedObject {
    const parsed = Parser.parseObject(obj, cls);
    const fields = new Map<string, { node: TypeNode | ValueNode; scope: Scope }>();
    for (const [k, v] of parsed) fields.set(k, { node: v, scope });
    return { fields };
  }

  // ---- values
  /** Named numbers of the INTEGER type whose constraint is being read (`NinetyDegreeInt (min..max)`). */
  private intNames: [string, number][] | undefined;

  private intValue(v: ValueNode, scope: Scope, loc: Loc): number {
    if (v.v === 'ref' && !v.ref.module && this.intNames) {
      const named = this.intNames.find((n) => n[0] === v.ref.name);
      if (named) return named[1];
    }
    const x = this.valueJS(v, { k: 'int', lb: undefined, ub: undefined, ext: false }, scope, loc);
    if (typeof x !== 'number') throw new Asn1SemanticError(loc, 'expected an integer value');
    return x;
  }

  private valueJS(v: ValueNode, ir: IR, scope: Scope, loc: Loc, depth = 0): unknown {
    if (depth > 30) throw new Asn1SemanticError(loc, 'value reference cycle');
    switch (v.v) {
      case 'num':
      case 'real':
        return v.n;
      case 'bool':
        return v.b;
      case 'null':
        return null;
      case 'cstring':
        return v.s;
      case 'bstring': {
        const bits = v.s;
        const hex = bitsToHex(bits);
        return ir.k === 'bits' && ir.size.lb === ir.size.ub ? hex : { value: hex, length: bits.length };
      }
      case 'hstring':
        return ir.k === 'bits' ? { value: v.s, length: v.s.length * 4 } : v.s;
      case 'minmax':
        throw new Asn1SemanticError(loc, `${v.m} is only allowed in a range`);
      case 'braced': {
        if (ir.k === 'bits' && ir.named) {
          const set = v.items.map((it) => (it[0]?.v === 'ref' ? it[0].ref.name : ''));
          const max = Math.max(-1, ...set.map((n) => ir.named!.find((x) => x[0] === n)?.[1] ?? -1));
          let bits = '';
          for (let i = 0; i <= max; i++) bits += set.some((n) => ir.named!.find((x) => x[0] === n)?.[1] === i) ? '1' : '0';
          // A fixed-size type's value is its hex (JER), padded with 0 bits to the size: `DEFAULT {app}` of SIZE(8) is '80'.
          if (ir.size.lb === ir.size.ub && !ir.size.ext) return bitsToHex(bits.padEnd(ir.size.lb, '0'));
          return { value: bitsToHex(bits), length: bits.length };
        }
        throw new Asn1SemanticError(loc, 'braced values are only supported for named bits');
      }
      case 'ref': {
        const resolved = ir.k === 'ref' ? this.resolveNamed(this.keyFromUnique(ir.name)) : ir;
        if (!v.ref.module && resolved.k === 'enum' && (resolved.root.includes(v.ref.name) || resolved.adds.includes(v.ref.name))) return v.ref.name;
        if (!v.ref.module && scope.env?.has(v.ref.name)) {
          const b = scope.env.get(v.ref.name)!;
          if (b.actual.a !== 'value') throw new Asn1SemanticError(loc, `parameter ${v.ref.name} is not a value`);
          return this.valueJS(b.actual.value, ir, b.scope, loc, depth + 1);
        }
        const { module, assign } = this.lookup(scope, v.ref, loc);
        if (assign.kind !== 'value') throw new Asn1SemanticError(loc, `${v.ref.name} is not a value`);
        const tir = this.typeIR(assign.type, { module });
        return this.valueJS(assign.value, tir, { module }, assign.loc, depth + 1);
      }
    }
  }

  private keyFromUnique(unique: string): string {
    for (const [k, u] of this.uniqueName) if (u === unique) return k;
    throw new Error(`internal: unknown type ${unique}`);
  }

  // ---- constraints (X.691 10.3: only PER-visible constraints affect the encoding)
  private applyConstraint(ir: IR, c: Constraint, scope: Scope, loc: Loc): IR {
    if (ir.k === 'ref') {
      const target = this.resolveNamed(this.keyFromUnique(ir.name));
      if (target.k !== 'seqof' && target.k !== 'str' && target.k !== 'octets' && target.k !== 'bits' && target.k !== 'int') return ir;
      ir = structuredClone(target);
    }
    switch (ir.k) {
      case 'int': {
        this.intNames = ir.named;
        let r: { lb: number; ub: number } | null;
        try {
          r = this.intSet(c.root, scope, loc);
        } finally {
          this.intNames = undefined;
        }
        if (!r) return ir;
        const lb = Math.max(r.lb, ir.lb ?? -Infinity);
        const ub = Math.min(r.ub, ir.ub ?? Infinity);
        if (lb > ub) throw new Asn1SemanticError(c.loc, `constraint leaves no value (${lb}..${ub})`);
        const out: IR = { k: 'int', lb: Number.isFinite(lb) ? lb : undefined, ub: Number.isFinite(ub) && Number.isFinite(lb) ? ub : undefined, ext: c.ext };
        if (ir.named) out.named = ir.named;
        return out;
      }
      case 'bits':
      case 'octets':
      case 'seqof': {
        const s = this.sizeOf(c.root, scope, loc);
        if (!s) return ir;
        return { ...ir, size: mergeSize(ir.size, s, c.ext) } as IR;
      }
      case 'str': {
        let out = ir;
        const s = this.sizeOf(c.root, scope, loc);
        if (s) out = { ...out, size: mergeSize(out.size, s, c.ext) };
        if (out.km && !c.ext) {
          const a = this.alphabetOf(c.root, scope, loc);
          if (a) {
            const alphabet = out.alphabet!.filter((x) => a.has(x));
            out = { ...out, alphabet, ...alphabetInfo(alphabet) };
          }
        }
        return out;
      }
      default:
        return ir;
    }
  }

  /** The value range an element set allows, or null when it is not PER-visible. */
  private intSet(es: ElementSet, scope: Scope, loc: Loc): { lb: number; ub: number } | null {
    switch (es.e) {
      case 'value': {
        const v = this.intValue(es.value, scope, loc);
        return { lb: v, ub: v };
      }
      case 'range': {
        let lb = es.lb.v === 'minmax' ? -Infinity : this.intValue(es.lb, scope, loc);
        let ub = es.ub.v === 'minmax' ? Infinity : this.intValue(es.ub, scope, loc);
        if (es.lbOpen) lb++;
        if (es.ubOpen) ub--;
        return { lb, ub };
      }
      case 'union': {
        if (!es.items.length) return null;
        const rs = es.items.map((x) => this.intSet(x, scope, loc));
        if (rs.some((r) => !r)) return null;
        return { lb: Math.min(...rs.map((r) => r!.lb)), ub: Math.max(...rs.map((r) => r!.ub)) };
      }
      case 'intersection': {
        const rs = es.items.map((x) => this.intSet(x, scope, loc)).filter((r) => r) as { lb: number; ub: number }[];
        if (!rs.length) return null;
        return { lb: Math.max(...rs.map((r) => r.lb)), ub: Math.min(...rs.map((r) => r.ub)) };
      }
      case 'except':
        return this.intSet(es.base, scope, loc);
      case 'type': {
        const t = this.typeIR(es.type, scope);
        if (t.k === 'int' && t.lb !== undefined) return { lb: t.lb, ub: t.ub ?? Infinity };
        return null;
      }
      default:
        return null;
    }
  }

  private sizeOf(es: ElementSet, scope: Scope, loc: Loc): { lb: number; ub: number; ext: boolean } | null {
    switch (es.e) {
      case 'size': {
        const r = this.intSet(es.c.root, scope, loc);
        if (!r) return null;
        return { lb: Math.max(0, r.lb), ub: r.ub, ext: es.c.ext };
      }
      case 'intersection': {
        const rs = es.items.map((x) => this.sizeOf(x, scope, loc)).filter((r) => r) as { lb: number; ub: number; ext: boolean }[];
        if (!rs.length) return null;
        return { lb: Math.max(...rs.map((r) => r.lb)), ub: Math.min(...rs.map((r) => r.ub)), ext: rs.some((r) => r.ext) };
      }
      case 'union': {
        if (!es.items.length) return null;
        const rs = es.items.map((x) => this.sizeOf(x, scope, loc));
        if (rs.some((r) => !r)) return null;
        return { lb: Math.min(...rs.map((r) => r!.lb)), ub: Math.max(...rs.map((r) => r!.ub)), ext: rs.some((r) => r!.ext) };
      }
      default:
        return null;
    }
  }

  private alphabetOf(es: ElementSet, scope: Scope, loc: Loc): Set<number> | null {
    switch (es.e) {
      case 'from': {
        if (es.c.ext) return null;
        return this.charSet(es.c.root, scope, loc);
      }
      case 'intersection': {
        const rs = es.items.map((x) => this.alphabetOf(x, scope, loc)).filter((r) => r) as Set<number>[];
        if (!rs.length) return null;
        return new Set([...rs[0]!].filter((x) => rs.every((r) => r.has(x))));
      }
      default:
        return null;
    }
  }

  private charSet(es: ElementSet, scope: Scope, loc: Loc): Set<number> | null {
    const str = (v: ValueNode): string => {
      if (v.v === 'cstring') return v.s;
      throw new Asn1SemanticError(loc, 'expected a character string in FROM');
    };
    switch (es.e) {
      case 'value':
        return new Set([...str(es.value)].map((c) => c.charCodeAt(0)));
      case 'range': {
        const a = str(es.lb).charCodeAt(0);
        const b = str(es.ub).charCodeAt(0);
        return new Set(range(a, b));
      }
      case 'union': {
        const out = new Set<number>();
        for (const x of es.items) {
          const s = this.charSet(x, scope, loc);
          if (!s) return null;
          s.forEach((c) => out.add(c));
        }
        return out;
      }
      case 'intersection': {
        const rs = es.items.map((x) => this.charSet(x, scope, loc));
        if (rs.some((r) => !r)) return null;
        return new Set([...rs[0]!].filter((x) => rs.every((r) => r!.has(x))));
      }
      default:
        return null;
    }
  }
}

function mergeSize(prev: SizeC, s: { lb: number; ub: number; ext: boolean }, outerExt: boolean): SizeC {
  const lb = Math.max(prev.lb, s.lb);
  const ubRaw = Math.min(prev.ub ?? Infinity, s.ub);
  return { lb, ub: Number.isFinite(ubRaw) ? ubRaw : undefined, ext: s.ext || outerExt };
}

/** Bits per character in UNALIGNED PER, and whether characters are sent as their own codes (X.691 30.5). */
function alphabetInfo(alphabet: number[]): { bits: number; direct: boolean } {
  const n = alphabet.length;
  let bits = 0;
  while (1 << bits < n) bits++;
  const ub = Math.max(...alphabet);
  return { bits, direct: ub <= (1 << bits) - 1 };
}

function bitsToHex(bits: string): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 8) hex += parseInt(bits.slice(i, i + 8).padEnd(8, '0'), 2).toString(16).padStart(2, '0').toUpperCase();
  return hex;
}

function describeActual(a: Actual): string {
  if (a.a === 'set') return a.set.elements.map((e) => ('ref' in e ? (e.ref.module ? e.ref.module + '.' : '') + e.ref.name : 'ext' in e ? '...' : '{}')).join('|');
  if (a.a === 'type') return a.type.t === 'ref' ? a.type.ref.name : a.type.t;
  return a.value.v === 'ref' ? a.value.ref.name : a.value.v === 'num' ? String(a.value.n) : a.value.v;
}
