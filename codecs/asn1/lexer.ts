// Tokeniser for ASN.1 module text (X.680 clause 12), as published: UTF-8 BOM, CRLF, `--` and `/* */` comments.

export type TokKind =
  | 'id' // identifier or type/module reference (letters, digits, hyphens)
  | 'field' // &id, &Type (information object class field reference)
  | 'num' // non-negative number
  | 'real' // 1.5
  | 'cstring' // "text"
  | 'bstring' // '0101'B
  | 'hstring' // 'AF'H
  | 'punct' // ::= ... .. [[ ]] { } ( ) [ ] , ; | ^ < > @ . ! : -
  | 'eof';

export interface Token {
  kind: TokKind;
  text: string;
  line: number;
  col: number;
}

export class Asn1SyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}:${col}: ${problem}`);
    this.name = 'Asn1SyntaxError';
  }
}

const PUNCT3 = ['::=', '...'];
const PUNCT2 = ['..', '[[', ']]'];
const PUNCT1 = '{}()[],;|^<>@.!:-*';

export function tokenize(text: string, file: string): Token[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const toks: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    throw new Asn1SyntaxError(file, line, i - lineStart + 1, msg);
  };
  const push = (kind: TokKind, start: number, s: string, l: number, ls: number) =>
    toks.push({ kind, text: s, line: l, col: start - ls + 1 });

  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0') {
      i++;
      continue;
    }
    const comment = skipComment(text, i);
    if (comment) {
      for (let k = i; k < comment.end; k++) {
        if (text[k] === '\n') {
          line++;
          lineStart = k + 1;
        }
      }
      i = comment.end;
      if (comment.unterminated) fail('unterminated /* comment');
      continue;
    }
    const start = i;
    const l0 = line;
    const ls0 = lineStart;
    if (isLetter(c) || (c === '&' && isLetter(text[i + 1] ?? ''))) {
      i++;
      if (c === '&') i++;
      while (i < n) {
        const d = text[i]!;
        if (isLetter(d) || isDigit(d) || d === '_') i++;
        else if (d === '-' && text[i + 1] !== '-' && (isLetter(text[i + 1] ?? '') || isDigit(text[i + 1] ?? ''))) i++;
        else break;
      }
      push(c === '&' ? 'field' : 'id', start, text.slice(start, i), l0, ls0);
      continue;
    }
    if (isDigit(c)) {
      while (i < n && isDigit(text[i]!)) i++;
      if (text[i] === '.' && isDigit(text[i + 1] ?? '')) {
        i++;
        while (i < n && isDigit(text[i]!)) i++;
        push('real', start, text.slice(start, i), l0, ls0);
      } else push('num', start, text.slice(start, i), l0, ls0);
      continue;
    }
    if (c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= n) fail('unterminated character string');
        const d = text[i]!;
        if (d === '"') {
          if (text[i + 1] === '"') {
            s += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === '\n') {
          line++;
          lineStart = i + 1;
        }
        s += d;
        i++;
      }
      push('cstring', start, s, l0, ls0);
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) fail("unterminated 'string'");
      const body = text.slice(i + 1, end).replace(/\s+/g, '');
      const suffix = text[end + 1];
      if (suffix === 'B' || suffix === 'b') {
        if (!/^[01]*$/.test(body)) fail(`bad binary string '${body}'B`);
        push('bstring', start, body, l0, ls0);
      } else if (suffix === 'H' || suffix === 'h') {
        if (!/^[0-9A-Fa-f]*$/.test(body)) fail(`bad hex string '${body}'H`);
        push('hstring', start, body.toUpperCase(), l0, ls0);
      } else fail("a quoted string must end in 'B or 'H");
      i = end + 2;
      continue;
    }
    const three = text.slice(i, i + 3);
    if (PUNCT3.includes(three)) {
      push('punct', start, three, l0, ls0);
      i += 3;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (PUNCT2.includes(two)) {
      push('punct', start, two, l0, ls0);
      i += 2;
      continue;
    }
    if (PUNCT1.includes(c)) {
      push('punct', start, c, l0, ls0);
      i++;
      continue;
    }
    fail(`unexpected character ${JSON.stringify(c)}`);
  }
  toks.push({ kind: 'eof', text: '<end of file>', line, col: i - lineStart + 1 });
  return toks;
}

function isLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/**
 * The comment starting at text[i], if any (X.680 12.6): `--` ends at the end of the line (not included) or at the
 * next `--`; a block comment (slash-star to star-slash) nests. Also used by the tests' Erlang helper, which strips comments before handing files to erlc.
 */
export function skipComment(text: string, i: number): { end: number; unterminated: boolean } | null {
  const n = text.length;
  if (text[i] === '-' && text[i + 1] === '-') {
    i += 2;
    while (i < n && text[i] !== '\n') {
      if (text[i] === '-' && text[i + 1] === '-') return { end: i + 2, unterminated: false };
      i++;
    }
    return { end: i, unterminated: false };
  }
  if (text[i] === '/' && text[i + 1] === '*') {
    let depth = 1;
    i += 2;
    while (i < n && depth > 0) {
      if (text[i] === '/' && text[i + 1] === '*') {
        depth++;
        i += 2;
      } else if (text[i] === '*' && text[i + 1] === '/') {
        depth--;
        i += 2;
      } else i++;
    }
    return { end: i, unterminated: depth > 0 };
  }
  return null;
}
