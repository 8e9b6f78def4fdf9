// Syntax tree of ASN.1 modules: what the parser reads, before names are resolved.

export interface Loc {
  file: string;
  line: number;
}

export interface Module {
  name: string;
  file: string;
  line: number;
  tagDefault: 'EXPLICIT' | 'IMPLICIT' | 'AUTOMATIC';
  extensibilityImplied: boolean;
  imports: { symbols: string[]; from: string }[];
  assignments: Assignment[];
}

export type Assignment =
  | { kind: 'type'; name: string; params?: Param[]; type: TypeNode; loc: Loc }
  | { kind: 'value'; name: string; type: TypeNode; value: ValueNode; loc: Loc }
  | { kind: 'valueset'; name: string; type: TypeNode; set: Constraint; loc: Loc }
  | { kind: 'class'; name: string; params?: Param[]; cls: ClassNode; loc: Loc }
  | { kind: 'objectset'; name: string; params?: Param[]; className: RefName; set: ObjectSetNode; loc: Loc }
  | { kind: 'object'; name: string; className: RefName; object: ObjectNode; loc: Loc };

export interface Param {
  governor?: TypeNode | RefName; // `REG-EXT-ID-AND-TYPE : Set` (governor then name)
  name: string;
}

export interface RefName {
  module?: string; // `DSRC.addGrpC`
  name: string;
}

export interface Tag {
  cls: 'UNIVERSAL' | 'APPLICATION' | 'PRIVATE' | 'CONTEXT';
  num: number;
  mode?: 'IMPLICIT' | 'EXPLICIT';
}

export type TypeNode = TypeBody & { constraints?: Constraint[]; tag?: Tag; loc: Loc };

export type TypeBody =
  | { t: 'INTEGER'; named?: NamedNumber[] }
  | { t: 'BOOLEAN' }
  | { t: 'NULL' }
  | { t: 'REAL' }
  | { t: 'OBJECT IDENTIFIER' }
  | { t: 'ENUMERATED'; root: NamedNumber[]; ext: boolean; additions: NamedNumber[] }
  | { t: 'BIT STRING'; named?: NamedNumber[] }
  | { t: 'OCTET STRING' }
  | { t: 'STRING'; kind: string } // IA5String, UTF8String, ...
  | { t: 'SEQUENCE' | 'SET'; root: Member[]; ext: boolean; additions: (Member | Group)[]; root2: Member[] }
  | { t: 'SEQUENCE OF' | 'SET OF'; item: TypeNode; itemName?: string; sizeFirst?: Constraint }
  | { t: 'CHOICE'; root: Member[]; ext: boolean; additions: (Member | Group)[] }
  | { t: 'ref'; ref: RefName; actuals?: Actual[] }
  | { t: 'field'; cls: RefName; path: string[] } // CLASS.&field, with its table constraint in `constraints`
  | { t: 'ANY' };

export interface NamedNumber {
  name: string;
  value?: ValueNode;
}

export interface Member {
  name: string;
  type: TypeNode;
  optional?: boolean;
  default?: ValueNode;
  componentsOf?: boolean;
}

export interface Group {
  group: Member[];
  version?: number;
}

/** An actual parameter: a type, a value or an object set; the resolver decides by the formal's governor. */
export type Actual = { a: 'type'; type: TypeNode } | { a: 'value'; value: ValueNode } | { a: 'set'; set: ObjectSetNode };

export type ValueNode =
  | { v: 'num'; n: number }
  | { v: 'real'; n: number }
  | { v: 'bool'; b: boolean }
  | { v: 'null' }
  | { v: 'cstring'; s: string }
  | { v: 'bstring'; s: string }
  | { v: 'hstring'; s: string }
  | { v: 'ref'; ref: RefName }
  | { v: 'braced'; items: ValueNode[][] } // { a, b } or { a 1, b 2 }: raw, interpreted by type
  | { v: 'minmax'; m: 'MIN' | 'MAX' };

export interface Constraint {
  root: ElementSet;
  ext: boolean;
  additional?: ElementSet;
  loc: Loc;
}

export type ElementSet =
  | { e: 'union'; items: ElementSet[] }
  | { e: 'intersection'; items: ElementSet[] }
  | { e: 'except'; base: ElementSet; minus: ElementSet }
  | { e: 'all-except'; minus: ElementSet }
  | { e: 'value'; value: ValueNode }
  | { e: 'range'; lb: ValueNode; ub: ValueNode; lbOpen?: boolean; ubOpen?: boolean }
  | { e: 'size'; c: Constraint }
  | { e: 'from'; c: Constraint }
  | { e: 'type'; type: TypeNode } // contained subtype (INCLUDES T, or a type reference)
  | { e: 'table'; set: ObjectSetNode; at?: string[] } // ({Set}) or ({Set}{@field})
  | { e: 'containing'; type: TypeNode }
  | { e: 'invisible'; why: string }; // WITH COMPONENTS, PATTERN, CONSTRAINED BY: not PER-visible

export interface ClassNode {
  fields: ClassField[];
  syntax?: SyntaxToken[];
}

export interface ClassField {
  name: string; // with the '&'
  kind: 'type' | 'value' | 'valueset' | 'object' | 'objectset';
  type?: TypeNode; // for fixed-type value fields
  unique?: boolean;
  optional?: boolean;
  default?: ValueNode | TypeNode;
}

export type SyntaxToken = { lit: string } | { field: string } | { optional: SyntaxToken[] };

/** An object set as written: its elements are parsed lazily, against the class's syntax, by the resolver. */
export interface ObjectSetNode {
  elements: ({ ref: RefName } | { object: ObjectNode } | { ext: true })[];
  loc: Loc;
}

/** An object as written: the raw tokens between its braces, matched against the class's WITH SYNTAX later. */
export interface ObjectNode {
  tokens: import('./lexer.js').Token[];
  file: string;
}
