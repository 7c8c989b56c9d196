/**
 * Which targets a template covers: entries are name globs (`web-*`, `db-?`) or label selectors
 * (`env=prod`; several selectors in one entry joined by commas must all hold: `env=prod,tier=db`).
 */
import type { Target, Template } from '../domain/types.js';

export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

export function entryCovers(entry: string, target: Target): boolean {
  if (entry.includes('=')) {
    return entry.split(',').every((sel) => {
      const i = sel.indexOf('=');
      const key = sel.slice(0, i).trim();
      const value = sel.slice(i + 1).trim();
      const have = target.labels[key];
      return have !== undefined && globToRegExp(value).test(have);
    });
  }
  return globToRegExp(entry).test(target.name);
}

export function templateCovers(template: Template, target: Target): boolean {
  return template.targets.some((e) => entryCovers(e, target));
}
