/**
 * What a policy decision costs.
 *
 *   npx vitest bench --run bench/policy.bench.ts
 *
 * vitest prints throughput and percentiles per case; afterwards this file prints the median of
 * its own tight loop per case (process.hrtime, after a warm-up), which is the number the design
 * budget (< 50 µs for a typical line) is about. Lines marked "unique" differ on every call, so
 * the parse cache never helps them. Not part of the test suite: timings are not assertions.
 */
import { afterAll, bench, describe } from 'vitest';
import { compileRules, evaluate } from '../src/policy/index.js';
import { DIAGNOSE } from '../test/unit/policy/fixtures.js';

const rules = compileRules(DIAGNOSE);
const TYPICAL = 'journalctl -u nginx --since "1 hour ago" | grep -i error | tail -n 50';

type Case = readonly [name: string, line: (i: number) => string];

const CASES: readonly Case[] = [
  ['typical line (fast path)', () => TYPICAL],
  ['typical line, unique (fast path)', (i) => `journalctl -u nginx --since "${i} hour ago" | grep -i error | tail -n 50`],
  ['typical line with a glob, unique (mvdan-sh)', (i) => `grep -i "connection refused" /var/log/app/*.log | tail -n ${i}`],
  ['typical line with a glob, repeated (mvdan-sh, parse cache)', () => 'grep -i "connection refused" /var/log/app/*.log | tail -n 50'],
  ['obfuscated denial, unique (mvdan-sh)', (i) => `ls /var/log/${i} && $'\\x72m' -rf / # ${i}`],
  ['wrapped sh -c, unique (fast path twice)', (i) => `sudo -u root sh -c 'ls /var/log; rm -rf /tmp/${i}'`],
];

let counter = 0;

describe('policy evaluate', () => {
  for (const [name, line] of CASES) {
    bench(name, () => {
      evaluate(rules, line(counter++));
    });
  }
});

function median(line: (i: number) => string, runs: number): number {
  for (let i = 0; i < 2000; i++) evaluate(rules, line(i));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const text = line(i + 5000);
    const start = process.hrtime.bigint();
    evaluate(rules, text);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)] ?? Number.NaN;
}

afterAll(() => {
  const rows = CASES.map(([name, line]) => `  ${median(line, 20_000).toFixed(1).padStart(7)} µs  ${name}`);
  console.log(`\nmedian per evaluate() call (Node ${process.version}):\n${rows.join('\n')}\n`);
});
