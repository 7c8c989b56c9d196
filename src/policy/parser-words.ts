/**
 * Word-level half of the mvdan-sh → ast.ts conversion (parser.ts has the statements): word parts,
 * parameter expansions, arithmetic and [[ ]] expressions. Anything that can run a command
 * ($(...), `...`, <(...), >(...)) hands its statements back to parser.ts through `stmts`, and
 * anything that can run code hidden in a variable's value becomes a denied unit.
 */
import type { ConstructUnit, Unit, Word, WordPart } from './ast.js';
import { OPS, goString, items, kindOf, span, type Raw } from './gopher.js';

const NUMBER = /^(?:0[xX][0-9a-fA-F]+|[0-9]+(?:#[0-9a-zA-Z@_]+)?)$/;

export abstract class WordConverter {
  readonly units: Unit[] = [];
  constructor(protected readonly cut: (start: number, end: number) => string) {}

  /** Converts a statement list, pushing its units (parser.ts). */
  abstract stmts(list: Raw): void;

  protected text(node: Raw): string {
    const [start, end] = span(node);
    return this.cut(start, end);
  }

  protected construct(kind: ConstructUnit['kind'], dynamic: boolean, why: string, node: Raw): void {
    this.units.push({ kind, dynamic, why, text: this.text(node) });
  }

  protected arithUnit(dynamic: boolean, node: Raw): void {
    this.construct('arith', dynamic, dynamic ? 'arithmetic on variables or command output can run code hidden in their values' : 'arithmetic on numbers only', node);
  }

  word(w: Raw): Word {
    return { parts: this.parts(w), text: kindOf(w) === 'Word' ? this.text(w) : '' };
  }

  parts(w: Raw): WordPart[] {
    const out: WordPart[] = [];
    for (const p of items(w?.Parts)) this.part(p, out, false);
    if (zshFlag(out)) this.construct('hazard', true, 'zsh reads $~x, $=x and $^x as expansions ($~x globs the value, which can run code through a glob qualifier)', w);
    return out;
  }

  private part(p: Raw, out: WordPart[], inDq: boolean): void {
    switch (kindOf(p)) {
      case 'Lit':
        out.push(inDq ? { type: 'dqlit', raw: goString(p.Value) } : { type: 'lit', raw: goString(p.Value) });
        return;
      case 'SglQuoted':
        out.push(p.Dollar ? { type: 'ansi', raw: goString(p.Value) } : { type: 'sgl', value: goString(p.Value) });
        return;
      case 'DblQuoted':
        out.push({ type: 'dqlit', raw: '' }); // keeps "" an (empty) argument
        for (const q of items(p.Parts)) this.part(q, out, true);
        return;
      case 'ParamExp':
        this.paramExp(p);
        out.push({ type: 'dyn', what: 'parameter', quoted: inDq, multi: !inDq || isListExpansion(p) });
        return;
      case 'CmdSubst':
        this.stmts(p.Stmts);
        out.push({ type: 'dyn', what: 'command', quoted: inDq, multi: !inDq });
        return;
      case 'ProcSubst':
        this.stmts(p.Stmts);
        out.push({ type: 'dyn', what: 'process', quoted: true, multi: false });
        return;
      case 'ArithmExp':
        if (this.arith(p.X)) this.arithUnit(true, p);
        out.push({ type: 'dyn', what: 'arithmetic', quoted: inDq, multi: !inDq });
        return;
      case 'ExtGlob':
        // bash's extended globs are zsh's glob qualifiers: *(e:cmd:) and *(+func) run code
        // while the word is expanded. The line is judged as bash parses it, so refuse the shape.
        this.construct('hazard', true, 'extended glob ?(...) *(...) +(...) @(...) !(...): in zsh a glob qualifier such as *(e:cmd:) runs code', p);
        out.push({ type: 'extglob' });
        return;
      default:
        this.construct('hazard', true, `unsupported word part ${kindOf(p)}`, p);
        out.push({ type: 'dyn', what: 'parameter', quoted: inDq, multi: !inDq });
        return;
    }
  }

  private paramExp(p: Raw): void {
    if (p.Excl) this.construct('hazard', true, 'indirect expansion ${!...} can evaluate a subscript hidden in a value', p);
    const exp = p.Exp;
    if (kindOf(exp) === 'Expansion') {
      const operand = this.parts(exp.Word);
      if (exp.Op === OPS.paramAt && !operand.every((x) => x.type === 'lit' && !x.raw.includes('P'))) {
        this.construct('hazard', true, 'prompt expansion ${x@P} runs command substitutions hidden in a value', p);
      }
      if (OPS.paramAssign.has(exp.Op as number)) {
        this.construct('hazard', true, '${x=value} and ${x:=value} assign variables (PROMPT_COMMAND, PATH, ...)', p);
      }
    }
    if (kindOf(p.Index) !== '') {
      const index = kindOf(p.Index) === 'Word' ? items(p.Index.Parts) : [];
      const all = index.length === 1 && kindOf(index[0]) === 'Lit' && ['@', '*'].includes(goString(index[0].Value));
      if (!all) this.subscript(p.Index, p);
    }
    if (kindOf(p.Slice) === 'Slice') {
      let dynamic = false;
      for (const e of [p.Slice.Offset, p.Slice.Length]) if (kindOf(e) !== '') dynamic = this.arith(e) || dynamic;
      if (dynamic) this.arithUnit(true, p);
    }
    if (kindOf(p.Repl) === 'Replace') {
      this.parts(p.Repl.Orig);
      this.parts(p.Repl.With);
    }
  }

  protected subscript(index: Raw, owner: Raw): void {
    if (this.arith(index)) this.arithUnit(true, owner);
  }

  /** Walks an arithmetic expression; true when it reads anything but number literals. */
  protected arith(e: Raw): boolean {
    switch (kindOf(e)) {
      case 'Word': {
        const ps = items(e.Parts);
        const numeric = ps.length === 1 && kindOf(ps[0]) === 'Lit' && NUMBER.test(goString(ps[0].Value));
        if (!numeric) this.parts(e); // still reach any $(...) inside
        return !numeric;
      }
      case 'BinaryArithm': {
        const x = this.arith(e.X); // both sides walked: each may hold a command substitution
        return this.arith(e.Y) || x;
      }
      case 'UnaryArithm':
      case 'ParenArithm':
        return this.arith(e.X);
      default:
        return true;
    }
  }

  /** Walks a [[ ]] expression; true when an operand is evaluated as arithmetic or a subscript. */
  protected test(e: Raw): boolean {
    switch (kindOf(e)) {
      case 'Word':
        this.parts(e);
        return false;
      case 'BinaryTest': {
        const arithmetic = OPS.arithCompare.has(e.Op as number);
        const x = arithmetic ? this.arith(e.X) : this.test(e.X);
        if (arithmetic) return this.arith(e.Y) || x;
        return this.test(e.Y) || x;
      }
      case 'UnaryTest': {
        const inner = this.test(e.X);
        if (e.Op !== OPS.testVar) return inner;
        const operand = kindOf(e.X) === 'Word' ? items(e.X.Parts) : [];
        return !(operand.length === 1 && kindOf(operand[0]) === 'Lit' && !goString(operand[0].Value).includes('['));
      }
      case 'ParenTest':
        return this.test(e.X);
      default:
        return true;
    }
  }
}

/**
 * An unquoted `$` followed by `~`, `=` or `^` is a literal `$` to bash, and an expansion with a
 * flag to zsh. Adjacent unquoted pieces are joined, as mvdan-sh splits `$` from what follows.
 */
function zshFlag(parts: readonly WordPart[]): boolean {
  let lit = '';
  for (const p of [...parts, null]) {
    if (p !== null && p.type === 'lit') {
      lit += p.raw;
      continue;
    }
    for (let i = 0; i < lit.length - 1; i++) {
      if (lit[i] === '\\') i++;
      else if (lit[i] === '$' && '~=^'.includes(lit[i + 1] as string)) return true;
    }
    lit = '';
  }
  return false;
}

/** "$@", "${a[@]}", "${!prefix@}": several arguments even when quoted. */
function isListExpansion(p: Raw): boolean {
  const name = goString(p.Param?.Value);
  if (name === '@') return true;
  if (p.Excl) return true;
  const index = kindOf(p.Index) === 'Word' ? items(p.Index.Parts) : [];
  return index.length === 1 && kindOf(index[0]) === 'Lit' && goString(index[0].Value) === '@';
}
