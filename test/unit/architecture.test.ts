/**
 * The import rules of DESIGN.md and STYLE.md (.dependency-cruiser.cjs): no run-time import
 * cycles, pure domain/ and policy/, only main.ts picks the store, each library in one place.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const config = join(root, '.dependency-cruiser.cjs');
const bin = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

/** Runs dependency-cruiser over `src` in `cwd` and returns its violations. */
function cruise(cwd: string): Promise<Violation[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, 'src', '--config', config, '--output-type', 'json'], { cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      // It exits non-zero when it finds violations; only output that is not a report is a failure.
      try {
        resolve((JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations);
      } catch {
        reject(err ?? new Error(`dependency-cruiser printed no report: ${stderr}`));
      }
    });
  });
}

describe('architecture', () => {
  it('src/ keeps the import rules', async () => {
    const found = await cruise(root);
    expect(found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 60_000);

  it('the rules catch a run-time cycle, I/O in domain/, policy/ reaching out, a store chosen outside main.ts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-arch-'));
    try {
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
        'src/domain/clock.ts': "import { readFileSync } from 'node:fs';\nexport const now = (): number => readFileSync('/x').length;\n",
        'src/policy/rules.ts': "import { seen } from '../events/log.js';\nexport const rule = seen;\n",
        'src/events/log.ts': "export const seen = 1;\n",
        'src/grants/a.ts': "import { b } from './b.js';\nexport const a = (): unknown => b;\n",
        'src/grants/b.ts': "import { a } from './a.js';\nexport const b = (): unknown => a;\n",
        // A cycle through type-only imports is allowed: it does not exist at run time.
        'src/grants/t1.ts': "import type { T2 } from './t2.js';\nexport interface T1 { t2: T2 }\n",
        'src/grants/t2.ts': "import type { T1 } from './t1.js';\nexport interface T2 { t1: T1 }\n",
        'src/grants/store.ts': "import { open } from '../store/sqlite/index.js';\nexport const s = open;\n",
        'src/store/sqlite/index.ts': 'export const open = 1;\n',
        'src/main.ts': "import { open } from './store/sqlite/index.js';\nexport const m = open;\n",
      };
      for (const [name, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, name)), { recursive: true });
        await writeFile(join(dir, name), text);
      }
      const found = (await cruise(dir)).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
      expect(found).toEqual([
        'no-runtime-cycle: src/grants/a.ts → src/grants/b.ts',
        'only-main-picks-the-store: src/grants/store.ts → src/store/sqlite/index.ts',
        'pure-decisions-no-io-modules: src/domain/clock.ts → fs',
        'pure-decisions: src/policy/rules.ts → src/events/log.ts',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
