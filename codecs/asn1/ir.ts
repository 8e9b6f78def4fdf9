// PER-ready description of resolved types: every name, parameter and information object has been
// replaced by what it stands for, and every constraint by its PER-visible effect (X.691 clause 10.3).

/** Effective size constraint. ub undefined: no upper bound. */
export interface SizeC {
  lb: number;
  ub: number | undefined;
  ext: boolean;
}

export type IR =
  // lb undefined: unconstrained. `named`: the type's named numbers, which its own constraints may use as values.
  | { k: 'int'; lb: number | undefined; ub: number | undefined; ext: boolean; named?: [string, number][] }
  | { k: 'bool' }
  | { k: 'null' }
  // In PER index order; `values` and `addValues` are the enumeration numbers (OER encodes those).
  | { k: 'enum'; root: string[]; ext: boolean; adds: string[]; values?: number[]; addValues?: number[] }
  | { k: 'bits'; size: SizeC; named?: [string, number][] }
  | { k: 'octets'; size: SizeC }
  | { k: 'str'; kind: string; size: SizeC; km: boolean; bits: number; direct: boolean; alphabet: number[] | null }
  | { k: 'seq'; fields: Field[]; ext: boolean; adds: Addition[] }
  | { k: 'seqof'; item: IR; size: SizeC }
  | { k: 'choice'; alts: Alt[]; ext: boolean; adds: Alt[] }
  | { k: 'open'; table?: OpenTable }
  | { k: 'oid' } // OBJECT IDENTIFIER; value: dotted string "1.2.840.10045"

  | { k: 'ref'; name: string };

export interface Field {
  name: string;
  type: IR;
  opt: boolean;
  /** DEFAULT value as a JER-shaped JS value (the field is then also optional in the encoding). */
  def?: unknown;
}

export type Addition = { field: Field } | { group: Field[] };

export interface Alt {
  name: string;
  type: IR;
  /** The alternative's outermost tag after automatic tagging (OER sends it): class 0-3 (UNIVERSAL..PRIVATE), number. */
  tag?: [number, number];
}

/** An open type whose actual type is chosen by the value of a sibling component (X.682 table constraint). */
export interface OpenTable {
  idField: string;
  rows: { id: unknown; type: IR }[];
  ext: boolean;
}

export interface NamedType {
  /** Unique name within the message set: the ASN.1 name, or Module.Name where two modules share it. */
  name: string;
  module: string;
  asnName: string;
  ir: IR;
}

export interface MessageSetIR {
  types: Map<string, NamedType>; // by unique name
  /** Instances of parameterized types, named by their instance key. */
  aliases: Map<string, string>; // Module.Name -> unique name
}
