/**
 * Raw access to mvdan-sh, the only file that imports it (parser.ts builds on this).
 *
 * Why mvdan-sh: the policy must see a command line exactly as bash will, and mvdan/sh is a
 * complete, long-maintained bash parser (the one behind shfmt) whose AST types every word part
 * (Lit, SglQuoted with its `$'...'` flag, DblQuoted, ParamExp, CmdSubst, ArithmExp, ProcSubst,
 * ExtGlob) and every compound command. A hand-written tokenizer would miss cases, and missed cases
 * are bypasses. sh-syntax (the WASM build) returned incomplete ASTs in a trial (LIBRARY-NOTES).
 *
 * Why the raw objects: the package's JS wrappers convert Go values on every property read
 * (4-20 µs each), which made walking one short line cost 250 µs. `__internal_object__` is the
 * GopherJS value itself: Go field names as plain JS properties, slices as {$array, $offset,
 * $length}, a type's name in `constructor.string`, nil as the type's `nil` object, strings as Go
 * byte strings (UTF-8 bytes, one per char code), positions as byte offsets. This layout belongs
 * to GopherJS, not to mvdan-sh's API, so the self-check at the end of this file runs at load and
 * fails loudly (throws on import) if a different build changes it.
 *
 * Limits: GopherJS converts a JS string to Go by reading a high surrogate and the next code unit
 * as a pair even when the next one is not a low surrogate, which silently eats a character;
 * callers must pass well-formed strings (evaluate.ts does, with toWellFormed()).
 */
import sh from 'mvdan-sh';
import type { RedirOp } from './ast.js';

/** A GopherJS value: untyped by nature (only this file and parser.ts read one). */
export type Raw = any; // deliberately `any`: the shape is checked at load, below, not by types

const parser = sh.syntax.NewParser();

/** The Go type name without the package ("CallExpr"), or '' for nil. */
export function kindOf(node: Raw): string {
  if (node === null || node === undefined) return '';
  const ctor = node.constructor;
  const name: unknown = ctor?.string;
  if (typeof name !== 'string' || node === ctor.nil) return '';
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

const NO_ITEMS: readonly Raw[] = [];

/** The elements of a Go slice. */
export function items(slice: Raw): readonly Raw[] {
  if (slice === null || slice === undefined || typeof slice.$length !== 'number' || slice.$length === 0) return NO_ITEMS;
  const out: Raw[] = [];
  const arr = slice.$array;
  const off: number = slice.$offset;
  for (let i = 0; i < slice.$length; i++) out.push(arr[off + i]);
  return out;
}

const utf8 = new TextDecoder('utf-8');

/** A Go (UTF-8 byte) string as a JS string. */
export function goString(s: unknown): string {
  if (typeof s !== 'string') return '';
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      const bytes = new Uint8Array(s.length);
      for (let j = 0; j < s.length; j++) bytes[j] = s.charCodeAt(j) & 0xff;
      return utf8.decode(bytes);
    }
  }
  return s;
}

/** Byte offsets [start, end) of a node in the parsed source. */
export function span(node: Raw): readonly [number, number] {
  return [node.Pos().Offset() as number, node.End().Offset() as number];
}

/** Cuts source text by byte offsets (mvdan-sh positions count UTF-8 bytes). */
export function slicer(src: string): (start: number, end: number) => string {
  let ascii = true;
  for (let i = 0; i < src.length && ascii; i++) if (src.charCodeAt(i) > 0x7f) ascii = false;
  if (ascii) return (start, end) => src.slice(start, end);
  const bytes = new TextEncoder().encode(src);
  return (start, end) => utf8.decode(bytes.subarray(start, end));
}

export type RawParse = { readonly ok: true; readonly file: Raw } | { readonly ok: false; readonly why: string };

export function parseRaw(src: string): RawParse {
  try {
    return { ok: true, file: parser.Parse(src, '').__internal_object__ };
  } catch (err) {
    const e = err as { Error?: () => unknown } | null;
    const message = e !== null && typeof e === 'object' && typeof e.Error === 'function' ? String(e.Error()) : String(err);
    return { ok: false, why: message };
  }
}

/* Operator codes are Go token numbers, not part of the API: learn them from samples at load. */

function firstStmt(src: string): Raw {
  const r = parseRaw(src);
  if (!r.ok) throw new Error(`mvdan-sh self-check: cannot parse ${JSON.stringify(src)}: ${r.why}`);
  const st = items(r.file.Stmts)[0];
  if (kindOf(st) !== 'Stmt') throw new Error(`mvdan-sh self-check: unexpected AST for ${JSON.stringify(src)}`);
  return st;
}

function learnRedirOps(): ReadonlyMap<number, RedirOp> {
  const ops: RedirOp[] = ['>', '>>', '>|', '<', '<>', '>&', '<&', '&>', '&>>', '<<', '<<-', '<<<'];
  const map = new Map<number, RedirOp>();
  for (const op of ops) {
    const src = op === '<<' || op === '<<-' ? `: ${op}E\nx\nE\n` : `: ${op} x`;
    const redir = items(firstStmt(src).Redirs)[0];
    if (typeof redir?.Op !== 'number') throw new Error(`mvdan-sh self-check: no operator for ${op}`);
    map.set(redir.Op, op);
  }
  if (map.size !== ops.length) throw new Error('mvdan-sh self-check: redirection operators collide');
  return map;
}

function learnTestOp(src: string): number {
  const x = firstStmt(src).Cmd.X;
  if (typeof x?.Op !== 'number') throw new Error(`mvdan-sh self-check: no operator in ${src}`);
  return x.Op;
}

function learnParamOp(src: string): number {
  const word = items(firstStmt(`: ${src}`).Cmd.Args)[1];
  const op: unknown = items(word?.Parts)[0]?.Exp?.Op;
  if (typeof op !== 'number') throw new Error(`mvdan-sh self-check: no operator in ${src}`);
  return op;
}

export const OPS = {
  redir: learnRedirOps(),
  /** -eq -ne -lt -le -gt -ge inside [[ ]]: both sides are evaluated as arithmetic. */
  arithCompare: new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge'].map((op) => learnTestOp(`[[ 1 ${op} 1 ]]`))),
  /** [[ -v name ]], which evaluates a subscript in name. */
  testVar: learnTestOp('[[ -v x ]]'),
  /** ${x@P} and its siblings. */
  paramAt: learnParamOp('${x@P}'),
  /** ${x=v} and ${x:=v}, which assign. */
  paramAssign: new Set([learnParamOp('${x=v}'), learnParamOp('${x:=v}')]),
};

/* The layout self-check: a known line must come out as known raw values. */
(() => {
  const st = firstStmt(`é "a$(b)" 'c' $'d' > /dev/null`);
  const call = st.Cmd;
  const words = items(call?.Args);
  const ok =
    kindOf(call) === 'CallExpr' &&
    words.length === 4 &&
    goString(items(words[0].Parts)[0]?.Value) === 'é' &&
    kindOf(items(words[1].Parts)[0]) === 'DblQuoted' &&
    kindOf(items(items(words[1].Parts)[0].Parts)[1]) === 'CmdSubst' &&
    items(words[3].Parts)[0]?.Dollar === true &&
    span(words[1])[0] === 3 &&
    kindOf(items(st.Redirs)[0]?.N) === '';
  if (!ok) throw new Error('mvdan-sh self-check failed: the GopherJS object layout is not the one policy/ was written for');
})();
