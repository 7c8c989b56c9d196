/**
 * Why the key guard (guard.ts) refuses each key it refuses: the texts the responder reads on their
 * terminal and the refused-key anomaly records. Kept apart from the guard's state machine so the
 * wording can be read and reviewed in one place.
 */

/** A refused key: its name, why, and what cancels the key sequence it would have completed (null: none of its own). */
export type Refusal = { readonly key: string; readonly why: string; readonly then: Buffer | null };

export const WHY = {
  macro: 'keyboard macros replay keys, Enter included, past the broker',
  edit: 'it opens the command line in an editor and runs what comes back unjudged',
  inputrc: 'it re-reads ~/.inputrc, which can bind a key to run a line',
  comment: 'insert-comment accepts the line without an Enter (with a count it uncomments and runs it)',
  expand: 'shell-expand-line runs the $(...) in the line before any Enter',
  viEdit: 'in vi command mode it opens the line in an editor and runs what comes back unjudged (press i first to type it)',
  viComment: 'in vi command mode it accepts the line without an Enter (with a count it uncomments and runs it) (press i first to type it)',
  quote: 'a quoted control character (a line break) would make the line that runs differ from the line shown; the quote was cancelled',
  replace: 'replacing a character with a control character (a line break) would make the line that runs differ from the line shown',
  paste: 'a bracketed-paste start split across packets cannot be followed; paste again',
} as const;
