/**
 * RFC 8785 JSON Canonicalization Scheme: object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings serialised as ECMAScript's JSON.stringify does (which is what RFC 8785
 * specifies). `undefined` members are omitted, as in JSON. Non-finite numbers are rejected, and so
 * are strings with a lone surrogate: RFC 8785 builds on I-JSON (RFC 7493), which forbids them, and
 * other implementations would hash them differently (or refuse them), so a chain holding one could
 * not be verified elsewhere. Event content passes through `wellFormed` first (events/log.ts).
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot hold NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const v: unknown = value[i];
      out += v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v);
    }
    return out + ']';
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    let out = '{';
    let first = true;
    for (const k of keys) {
      const v = obj[k];
      if (v === undefined || typeof v === 'function') continue;
      if (!first) out += ',';
      first = false;
      out += quote(k) + ':' + canonicalJson(v);
    }
    return out + '}';
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

function quote(s: string): string {
  if (!s.isWellFormed()) throw new TypeError('canonical JSON cannot hold a lone surrogate (RFC 8785 requires I-JSON strings)');
  return JSON.stringify(s);
}

/**
 * `value` with every lone surrogate in its strings (keys too) replaced by U+FFFD, as a UTF-8
 * encoder would replace it on the wire anyway; other values are returned as they are.
 */
export function wellFormed<T>(value: T): T {
  if (typeof value === 'string') return value.toWellFormed() as T;
  if (Array.isArray(value)) return value.map((v: unknown) => wellFormed(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k.toWellFormed()] = wellFormed(v);
    return out as T;
  }
  return value;
}
