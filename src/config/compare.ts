/**
 * Comparing configurations: which top-level sections a reload changes, and the digest that
 * `config.loaded` carries (the config holds secrets, so the SIEM gets its hash, not its text).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../events/canonical.js';
import type { Config } from './load.js';

/** Top-level sections of `next` that differ from `current` (by canonical JSON). */
export function changedSections(current: Config, next: Config): string[] {
  const keys = new Set([...Object.keys(current), ...Object.keys(next)]);
  keys.delete('source');
  const text = (v: unknown): string => {
    try {
      return canonicalJson(v ?? null);
    } catch {
      return JSON.stringify(v ?? null);
    }
  };
  const a = current as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  return [...keys].filter((k) => text(a[k]) !== text(b[k])).sort();
}

/** SHA-256 of the effective configuration (RFC 8785 JSON), for `config.loaded`. */
export function configHash(config: Config): string {
  let text: string;
  try {
    text = canonicalJson(config);
  } catch {
    text = JSON.stringify(config);
  }
  return createHash('sha256').update(text).digest('hex');
}
