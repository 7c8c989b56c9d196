/**
 * The escape-sequence state machine of the streaming redactor (redact.ts): it tells which
 * characters of a terminal stream belong to an escape sequence (CSI, OSC, DCS, ... also 8-bit C1),
 * and so are never examined or masked, and which are text. Separate from the redaction rules: it
 * knows nothing of secrets, only the terminal's grammar.
 *
 * A base class of StreamRedactor rather than a member, so that each character on the output hot
 * path is stepped through without one more hop.
 */

/** Escape-sequence parser states; only `ground` text is ever examined or masked. */
export const enum Esc {
  Ground,
  Esc,
  EscInter,
  Csi,
  Str,
  StrEsc,
}

/**
 * An OSC/DCS string longer than this is taken as ended: terminals cap them too, and an unterminated
 * one must not hide the rest of the session from redaction.
 */
const MAX_STRING = 64 * 1024;

export abstract class EscapeTracker {
  protected esc: Esc = Esc.Ground;
  protected strLen = 0;

  /** One step of the escape-sequence state machine (also for the character that leaves ground). */
  protected escape(c: number): void {
    if (this.esc === Esc.Str && ++this.strLen > MAX_STRING) {
      this.esc = Esc.Ground;
      return;
    }
    switch (this.esc) {
      case Esc.Ground:
        if (c === 0x1b) this.esc = Esc.Esc;
        else if (c === 0x9b) this.esc = Esc.Csi;
        else if (c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f) this.enterString();
        return;
      case Esc.Esc:
        if (c === 0x5b) this.esc = Esc.Csi;
        else if (c === 0x5d || c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) this.enterString();
        else if (c >= 0x20 && c <= 0x2f) this.esc = Esc.EscInter;
        else if (c === 0x1b || c < 0x20) return;
        else this.esc = Esc.Ground;
        return;
      case Esc.EscInter:
        if (c === 0x1b) this.esc = Esc.Esc;
        else if (c >= 0x20 && c <= 0x2f) return;
        else if (c >= 0x20 || c === 0x18 || c === 0x1a) this.esc = Esc.Ground;
        return;
      case Esc.Csi:
        if (c === 0x1b) this.esc = Esc.Esc;
        else if ((c >= 0x40 && c <= 0x7e) || c === 0x18 || c === 0x1a) this.esc = Esc.Ground;
        return;
      case Esc.Str:
        if (c === 0x1b) this.esc = Esc.StrEsc;
        else if (c === 0x07 || c === 0x9c || c === 0x18 || c === 0x1a) this.esc = Esc.Ground;
        return;
      case Esc.StrEsc:
        if (c === 0x5c) this.esc = Esc.Ground;
        else {
          this.esc = Esc.Esc;
          this.escape(c);
        }
        return;
    }
  }

  protected inEscape(): boolean {
    return this.esc !== Esc.Ground;
  }

  private enterString(): void {
    this.esc = Esc.Str;
    this.strLen = 0;
  }
}
