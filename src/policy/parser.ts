/**
 * mvdan-sh's AST (read raw through gopher.ts) → the neutral, flat list of units in ast.ts.
 *
 * Every node type is handled explicitly; an unknown one becomes a `hazard` unit (denied), so a
 * parser upgrade that adds a construct fails closed. The walk reaches every statement list
 * (pipelines, lists, subshells, groups, if/while/until/for/select/case bodies, time) and every
 * word part that can hide a command: $(...), `...`, <(...), >(...), here-documents, parameter
 * expansion operands, arithmetic, array subscripts and [[ ]] operands.
 */
import type { Assignment, ParseResult, Redirect, Unit, Word, WordPart } from './ast.js';
import { OPS, goString, items, kindOf, parseRaw, slicer, span, type Raw } from './gopher.js';
import { WordConverter } from './parser-words.js';

const PLACEHOLDER: Unit = { kind: 'hazard', dynamic: true, why: 'internal: unfilled unit', text: '' };

class Converter extends WordConverter {
  /** A statement's text without its terminator (`;`, `&`). */
  private stmtText(st: Raw): string {
    const [start, end] = span(st);
    const semi = st.Semicolon;
    return this.cut(start, semi?.IsValid?.() ? (semi.Offset() as number) : end).trimEnd();
  }

  override stmts(list: Raw): void {
    for (const st of items(list)) this.stmt(st);
  }

  stmt(st: Raw): void {
    const cmd = st.Cmd;
    const kind = kindOf(cmd);
    // Reserve the slot so a command comes before the substitutions found in its words.
    const slot = kind === 'CallExpr' || kind === 'DeclClause' ? this.units.push(PLACEHOLDER) - 1 : -1;
    const redirects = items(st.Redirs).map((r) => this.redirect(r));
    const text = this.stmtText(st);
    switch (kind) {
      case 'CallExpr': {
        const assigns = items(cmd.Assigns).map((a) => this.assignment(a));
        const words = items(cmd.Args).map((w) => this.word(w));
        this.units[slot] = { kind: 'simple', assigns, words, redirects, text };
        return;
      }
      case 'DeclClause': {
        const variant = goString(cmd.Variant?.Value);
        const words: Word[] = [{ parts: [{ type: 'lit', raw: variant }], text: variant }];
        for (const a of items(cmd.Args)) words.push(this.declWord(a));
        this.units[slot] = { kind: 'simple', assigns: [], words, redirects, text };
        return;
      }
      case '':
        // `< f` with no command: at the top level a no-op, but $(< f) reads f into the line,
        // past any path rule. Refused either way.
        if (redirects.some((r) => r.op === '<' || r.op === '<>')) {
          this.units.push({ kind: 'hazard', dynamic: true, why: 'an input redirection without a command, as in $(< file), reads the file into the line', text });
        }
        break;
      case 'BinaryCmd':
        this.stmt(cmd.X);
        this.stmt(cmd.Y);
        break;
      case 'Subshell':
      case 'Block':
        this.stmts(cmd.Stmts);
        break;
      case 'IfClause':
        for (let c = cmd; kindOf(c) === 'IfClause'; c = c.Else) {
          this.stmts(c.Cond);
          this.stmts(c.Then);
        }
        break;
      case 'WhileClause':
        this.stmts(cmd.Cond);
        this.stmts(cmd.Do);
        break;
      case 'ForClause':
        this.loop(cmd.Loop, st);
        this.stmts(cmd.Do);
        break;
      case 'CaseClause':
        this.parts(cmd.Word);
        for (const item of items(cmd.Items)) {
          for (const pattern of items(item.Patterns)) this.parts(pattern);
          this.stmts(item.Stmts);
        }
        break;
      case 'TimeClause':
        if (kindOf(cmd.Stmt) === 'Stmt') this.stmt(cmd.Stmt);
        break;
      case 'TestClause': {
        const dynamic = this.test(cmd.X);
        this.construct('test', dynamic, dynamic ? '[[ ]] evaluates variables as arithmetic or subscripts' : '[[ ]] runs nothing', cmd);
        break;
      }
      case 'ArithmCmd':
        this.arithUnit(this.arith(cmd.X), cmd);
        break;
      case 'LetClause': {
        let dynamic = false;
        for (const e of items(cmd.Exprs)) dynamic = this.arith(e) || dynamic;
        this.arithUnit(dynamic, cmd);
        break;
      }
      case 'FuncDecl':
        this.construct('function', false, 'function definitions are not allowed', cmd);
        break;
      case 'CoprocClause':
        this.construct('coproc', false, 'coprocesses are not allowed', cmd);
        break;
      default:
        this.construct('hazard', true, `unsupported shell construct ${kind}`, cmd);
        break;
    }
    // Redirections of a compound command (or of nothing: "> f") are judged on their own.
    if (redirects.length > 0) this.units.push({ kind: 'simple', assigns: [], words: [], redirects, text });
  }

  private loop(loop: Raw, st: Raw): void {
    const kind = kindOf(loop);
    if (kind === 'WordIter') {
      for (const w of items(loop.Items)) this.parts(w);
      // The loop variable is assigned: judged like a bare assignment (for PATH in ... is denied).
      const name = goString(loop.Name?.Value);
      this.units.push({ kind: 'simple', assigns: [{ name, value: null, text: name }], words: [], redirects: [], text: this.stmtText(st) });
    } else if (kind === 'CStyleLoop') {
      let dynamic = false;
      for (const e of [loop.Init, loop.Cond, loop.Post]) if (kindOf(e) !== '') dynamic = this.arith(e) || dynamic;
      this.arithUnit(dynamic, loop);
    } else {
      this.construct('hazard', true, `unsupported loop ${kind}`, loop);
    }
  }

  private redirect(r: Raw): Redirect {
    const op = OPS.redir.get(r.Op as number);
    const target = this.word(r.Word);
    if (kindOf(r.Hdoc) === 'Word') this.parts(r.Hdoc);
    if (op === undefined) {
      this.construct('hazard', true, 'unknown redirection operator', r);
      return { op: '>', fd: null, target };
    }
    return { op, fd: kindOf(r.N) === 'Lit' ? goString(r.N.Value) : null, target };
  }

  private assignment(a: Raw): Assignment {
    const name = goString(a.Name?.Value);
    if (kindOf(a.Index) !== '') this.subscript(a.Index, a);
    let value: Word | null = null;
    if (kindOf(a.Array) === 'ArrayExpr') {
      this.arrayElems(a.Array);
      value = { parts: [{ type: 'dyn', what: 'parameter', quoted: true, multi: false }], text: this.text(a.Array) };
    } else if (kindOf(a.Value) === 'Word') {
      value = this.word(a.Value);
    } else if (!a.Naked) {
      value = { parts: [{ type: 'dqlit', raw: '' }], text: '' };
    }
    return { name, value, text: this.text(a) };
  }

  private arrayElems(array: Raw): void {
    for (const el of items(array.Elems)) {
      if (kindOf(el.Index) !== '') this.subscript(el.Index, el);
      if (kindOf(el.Value) === 'Word') this.parts(el.Value);
    }
  }

  /** An argument of declare/export/local/...: `-f`, `name`, `name=value` as one word. */
  private declWord(a: Raw): Word {
    const text = this.text(a);
    if (a.Naked && kindOf(a.Value) === 'Word') return this.word(a.Value);
    const name = goString(a.Name?.Value);
    if (kindOf(a.Index) !== '') this.subscript(a.Index, a);
    if (a.Naked) return { parts: [{ type: 'lit', raw: name }], text };
    const parts: WordPart[] = [{ type: 'lit', raw: `${name}${a.Append ? '+' : ''}=` }];
    if (kindOf(a.Array) === 'ArrayExpr') {
      this.arrayElems(a.Array);
      parts.push({ type: 'dyn', what: 'parameter', quoted: true, multi: false });
    } else if (kindOf(a.Value) === 'Word') {
      parts.push(...this.parts(a.Value));
    }
    return { parts, text };
  }
}

/** Parses bash source into the flat unit list; never throws. */
export function parseShell(source: string): ParseResult {
  const raw = parseRaw(source);
  if (!raw.ok) return { ok: false, why: raw.why };
  try {
    const conv = new Converter(slicer(source));
    conv.stmts(raw.file.Stmts);
    return { ok: true, units: conv.units };
  } catch (err) {
    // A shape this walker does not expect: fail closed with the reason.
    return { ok: false, why: `unexpected syntax tree (${err instanceof Error ? err.message : String(err)})` };
  }
}
