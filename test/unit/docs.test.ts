/** docs/events.md and docs/errors.md are generated from the code; this keeps them from drifting. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/domain/errors.js';
import { CATALOGUE } from '../../src/events/catalogue.js';
import { renderErrorCodes, renderEventCatalogue } from '../../src/events/docs.js';

const read = (file: string): string | null => {
  try {
    return readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
  } catch {
    return null;
  }
};

/** The table row whose first cell is `name` in backticks. */
const rowOf = (doc: string, name: string): string[] =>
  (doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`)) ?? '')
    .slice(2, -2)
    .split(/ (?<!\\)\| /);

describe('generated docs are up to date', () => {
  it.each([
    ['docs/events.md', renderEventCatalogue],
    ['docs/errors.md', renderErrorCodes],
  ])('%s matches the code', (file, render) => {
    const committed = read(file);
    expect(committed, `${file} is missing: run \`npm run docs\` and commit it`).not.toBeNull();
    // Compare line by line first for a readable diff, then exactly.
    expect(committed?.split('\n'), `${file} is out of date with the code: run \`npm run docs\` and commit the result`).toEqual(render().split('\n'));
    expect(committed).toBe(render());
  });
});

describe('renderEventCatalogue', () => {
  const doc = renderEventCatalogue();

  it('has one row per event type, ordered by code', () => {
    const rows = doc.split('\n').filter((l) => /^\| `[a-z]+\.[a-z_]+` \|/.test(l));
    expect(rows).toHaveLength(Object.keys(CATALOGUE).length);
    const codes = rows.map((r) => r.split(' | ')[1]);
    expect(codes).toEqual([...codes].sort());
  });

  it('renders code, severity, OCSF class and activity, description and payload types', () => {
    expect(rowOf(doc, 'grant.approved')).toEqual([
      '`grant.approved`',
      'GH1001',
      'notice',
      '3005 User Access Management / 1 Assign Privileges',
      CATALOGUE['grant.approved'].description,
      '`approvals: number`<br>`needed: number`<br>`mfa: boolean`',
    ]);
    expect(rowOf(doc, 'anomaly.detected')[5]).toBe('`detector: string`<br>`action: "alert" \\| "kill" \\| "revoke"`<br>`evidence: Record<string, unknown>`');
    expect(rowOf(doc, 'session.start')[5]).toContain('`command: string \\| null`');
    expect(rowOf(doc, 'command.denied')[5]).toContain('`reasons: { command: string, rule: string \\| null, why: string }[]`');
  });

  it('is deterministic and ends with one newline', () => {
    expect(renderEventCatalogue()).toBe(doc);
    expect(doc.endsWith('|\n')).toBe(true);
  });
});

describe('renderErrorCodes', () => {
  const doc = renderErrorCodes();

  it('has one row per code with gRPC status name, exit code and description', () => {
    for (const [code, spec] of Object.entries(ErrorCodes)) {
      const cells = rowOf(doc, code);
      expect(cells[2], code).toBe(String(spec.exit));
      expect(cells[3], code).toBe(spec.description);
    }
    expect(rowOf(doc, 'GH_ERR_SELF_APPROVAL').slice(0, 3)).toEqual(['`GH_ERR_SELF_APPROVAL`', '7 PERMISSION_DENIED', '1']);
    expect(rowOf(doc, 'GH_ERR_CONFLICT').slice(1, 3)).toEqual(['10 ABORTED', '4']);
  });
});
