/**
 * The redaction rules (docs/recordings.md "Redaction") as patterns and character classes, and the
 * search for the next rule trigger. The streaming logic that applies them is in redact.ts.
 */

/** Longest END line held while undecided. */
export const MAX_END_LINE = 80;
/** Anything that ends a run of text: C0 controls except TAB, DEL, and the C1 range. */
export const DELIMITER = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
/** 8-bit C1 controls (rare; they take the careful path). */
export const C1 = /[\x80-\x9f]/;
export const isDelimiter = (c: number): boolean => (c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f);
/** A cheap first look: can this text start or continue any rule? */
export const TRIGGER = /pass|secret|token|api[_-]?key|bearer|AKIA|ASIA|-----BEGIN/i;

export const KV = /(?:password|passwd|passphrase|secret|token|api[_-]?key)[A-Za-z0-9_.-]*["']?[ \t]*[=:][ \t]*["']?/gi;
export const BEARER = /\b(?:Bearer|bearer|BEARER) +/g;
export const AWS = /(?<![A-Za-z0-9])(?:AKIA|ASIA)/g;
export const BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/g;
export const END = /-----END [A-Z0-9 ]*PRIVATE KEY-----/g;

export type ValueKind = 'kv' | 'bearer';

export const isKvValue = (c: number): boolean => c > 0x20 && c < 0x7f && c !== 0x22 && c !== 0x27 && c !== 0x60 && c !== 0x2c && c !== 0x3b && c !== 0x26;
export const isBearerValue = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f || c === 0x2d || c === 0x3d;
export const isAwsChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a);
export const isAlnum = (c: number): boolean => isAwsChar(c) || (c >= 0x61 && c <= 0x7a);
export const isKeyBody = (c: number): boolean => isAlnum(c) || c === 0x2b || c === 0x2f || c === 0x3d;

/** Could `s` still grow into an END line? */
export function endLinePrefix(s: string): boolean {
  if (s.length > MAX_END_LINE) return false;
  if ('-----END '.startsWith(s)) return true;
  return s.startsWith('-----END ') && /^[A-Z0-9 ]*-{0,4}$/.test(s.slice(9));
}

export type Hit = { rule: 'kv' | 'bearer' | 'aws' | 'begin'; end: number };

/**
 * The rule whose trigger ends first after `min`. A trigger ending at or before `min` was acted on
 * by an earlier pass (its value is masked through `cont`), so it is never taken twice.
 */
export function earliest(r: string, from: number, min: number): Hit | null {
  let best: Hit | null = null;
  const consider = (re: RegExp, rule: Hit['rule']): void => {
    re.lastIndex = from;
    for (let m = re.exec(r); m !== null; m = re.exec(r)) {
      const end = m.index + m[0].length;
      if (end > min) {
        if (best === null || end < best.end) best = { rule, end };
        return;
      }
      if (m[0].length === 0) re.lastIndex++;
    }
  };
  consider(BEGIN, 'begin');
  consider(KV, 'kv');
  consider(BEARER, 'bearer');
  consider(AWS, 'aws');
  return best;
}
