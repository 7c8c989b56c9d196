/**
 * The import rules of DESIGN.md and STYLE.md, checked by `npm run lint` and by
 * test/unit/architecture.test.ts (so `npm test`, and CI, fail on a violation).
 * @type {import('dependency-cruiser').IConfiguration}
 */
const only = (lib, folders) => ({
  name: `${lib}-lives-in-one-place`,
  comment: `${lib} is used only in ${folders.join(', ')} (DESIGN.md: each third-party library lives in one place)`,
  severity: 'error',
  from: { path: '^src/', pathNot: folders.map((f) => `^src/${f}`) },
  to: { path: `(^|/)node_modules/(@types/)?${lib}/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-runtime-cycle',
      comment: 'modules must not import each other at run time (a cycle through type-only imports is allowed)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'pure-decisions',
      comment: 'domain/ and policy/ import nothing with I/O: no other room of src/, no Node module but crypto',
      severity: 'error',
      from: { path: '^src/(domain|policy)/' },
      to: { path: '^src/', pathNot: '^src/(domain|policy)/' },
    },
    {
      name: 'pure-decisions-no-io-modules',
      comment: 'domain/ and policy/ import no Node module with I/O (crypto only)',
      severity: 'error',
      from: { path: '^src/(domain|policy)/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    {
      name: 'only-main-picks-the-store',
      comment: 'only main.ts chooses SQLite or PostgreSQL; everything else holds the Store port (store/ports.ts)',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/main\\.ts$', '^src/store/'] },
      to: { path: '^src/store/(sqlite|postgres)/' },
    },
    {
      name: 'simulator-is-not-production',
      comment: 'the SSM simulator is for tests and the demo only',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/connectors/ssm/simulator/', '^src/cli/commands/demo\\.ts$'] },
      to: { path: '^src/connectors/ssm/simulator/' },
    },
    only('ssh2', ['gateway/', 'connectors/ssh/']),
    // The SSM simulator's agent runs its shell in a PTY, as the real agent does.
    only('node-pty', ['connectors/local/', 'connectors/ssm/simulator/']),
    only('@aws-sdk', ['connectors/ssm/']),
    only('better-sqlite3', ['store/sqlite/']),
    only('pg', ['store/postgres/']),
    only('@grpc', ['api/grpc/', 'cli/']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
