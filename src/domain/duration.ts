import { GatehouseError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+)(ms|s|m|h|d)/y;

/** Parses "90s", "30m", "1h30m", "2d", "250ms" into milliseconds. A bare number is seconds. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1_000;
  if (s.length === 0 || s.length > 32) throw badDuration(text);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (m === null || m.index !== at) throw badDuration(text);
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  if (!Number.isSafeInteger(total)) throw badDuration(text);
  return total;
}

/** Formats milliseconds as the shortest "1h30m" form; "0s" for zero. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}

function badDuration(text: string): GatehouseError {
  return new GatehouseError('GH_ERR_BAD_DURATION', `invalid duration ${JSON.stringify(text.slice(0, 40))}: use forms like 90s, 30m, 1h30m, 2d`);
}
