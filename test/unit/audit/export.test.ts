/** JSONL export reading and anchors in the shapes a SIEM holds them. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventLine, parseAnchor, readJsonl } from '../../../src/events/export.js';
import { testScope } from '../../fixtures/scope.js';
import { ChainBuilder, testKey } from './chain-fixture.js';

const scope = testScope();
const events = new ChainBuilder(testKey()).plan('eceec').events;
const [, first, , , last] = events;

describe('parseAnchor', () => {
  it('reads the checkpoint JSON itself', () => {
    expect(parseAnchor(JSON.stringify(first))).toEqual(first);
  });

  it('unwraps a Splunk HEC event object', () => {
    expect(parseAnchor(JSON.stringify({ time: 1, host: 'b1', event: first }))).toEqual(first);
  });

  it('takes the last checkpoint of a JSONL file or a JSON array', () => {
    expect(parseAnchor(events.map(eventLine).join(''))).toEqual(last);
    expect(parseAnchor(JSON.stringify(events))).toEqual(last);
  });

  it('refuses text without a checkpoint', () => {
    expect(() => parseAnchor(eventLine(events[0] as (typeof events)[number]))).toThrow(/no audit.checkpoint/);
    expect(() => parseAnchor('hello')).toThrow(/no audit.checkpoint/);
  });
});

describe('readJsonl', () => {
  it('yields each line parsed, marks lines that are not JSON, skips blank ones', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'x.jsonl');
    await writeFile(path, `${eventLine(events[0] as (typeof events)[number])}\n{"broken\n`);
    const got: unknown[] = [];
    for await (const v of readJsonl(path)) got.push(v);
    expect(got).toEqual([events[0], { badLine: 3, text: '{"broken' }]);
  });

  it('reports a missing file as bad input', async () => {
    const it = readJsonl('/nonexistent/x.jsonl');
    await expect(it.next()).rejects.toMatchObject({ code: 'GH_ERR_BAD_INPUT' });
  });
});
