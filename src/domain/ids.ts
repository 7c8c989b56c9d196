import { randomBytes, randomUUID } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case: no i, l, o, u

/**
 * Short, typeable, sortable-enough ids: a prefix, the creation time in base32, and 60 random bits.
 * `g-` grants, `s-` sessions, `f-` forwarded TCP streams (`ssh -L`). Long enough to be
 * unguessable, short enough to read over a call.
 */
export function newId(prefix: 'g' | 's' | 'r' | 'f'): string {
  let r = randomBytes(8).readBigUInt64BE();
  let rand = '';
  for (let i = 0; i < 12; i++) {
    rand += ALPHABET[Number(r & 31n)];
    r >>= 5n;
  }
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 9; i++) {
    time = ALPHABET[t & 31] + time;
    t = Math.floor(t / 32);
  }
  return `${prefix}-${time}${rand}`;
}

export function newEventId(): string {
  return randomUUID();
}

const ID_RE = /^[gsr]-[0-9a-hjkmnp-tv-z]{21}$/;
export function isId(value: string, prefix?: 'g' | 's' | 'r'): boolean {
  return ID_RE.test(value) && (prefix === undefined || value.startsWith(`${prefix}-`));
}
