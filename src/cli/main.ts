/**
 * The `gatehouse` command line. Every command that prints data takes --json (one JSON document on
 * stdout); exit 0 is success, and a refusal prints one line on stderr and exits non-zero with the
 * code its error maps to (docs/errors.md).
 */
import { asGatehouseError } from '../domain/errors.js';
import { demoCommand } from './commands/demo.js';
import { grantCommand } from './commands/grant.js';
import { policyCommand } from './commands/policy.js';
import { serveCommand } from './commands/serve.js';
import { sessionsCommand } from './commands/sessions.js';
import { userCommand } from './commands/user.js';
import { VERSION } from '../main.js';

const USAGE = `gatehouse ${VERSION} — privileged-access gateway for incident response

  gatehouse serve   --config gatehouse.yaml
  gatehouse demo
  gatehouse grant request  --user U --target T[,T] --incident INC --duration 30m --reason "..." [--template NAME] [--break-glass]
  gatehouse grant approve  ID [--totp CODE]
  gatehouse grant deny     ID --reason "..."
  gatehouse grant revoke   ID --reason "..."
  gatehouse grant list     [--active] [--incident INC]
  gatehouse grant show     ID
  gatehouse grant update   ID [--target T[,T]] [--duration D] [--reason "..."]   (voids earlier approvals)
  gatehouse grant review   ID --notes "..."                                  (after break-glass)
  gatehouse user enroll-totp USER
  gatehouse sessions list  [--live]
  gatehouse sessions kill  ID --reason "..."
  gatehouse sessions approve-command ID [--note "..."]     (reject-command to refuse)
  gatehouse policy check --config F --template NAME 'COMMAND'

Client commands reach the broker over gRPC: --server HOST:PORT (or GATEHOUSE_SERVER, default
127.0.0.1:9090), --token TOKEN (or GATEHOUSE_TOKEN), --tls-ca FILE (or GATEHOUSE_TLS_CA) for TLS.
Add --json for one JSON document on stdout.
`;

type Command = (args: readonly string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  demo: demoCommand,
  grant: grantCommand,
  sessions: sessionsCommand,
  policy: policyCommand,
  user: userCommand,
};

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === 'version' || name === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`gatehouse: unknown command ${JSON.stringify(name)}; see gatehouse help\n`);
    return 2;
  }
  try {
    return await command(args);
  } catch (err) {
    const e = asGatehouseError(err);
    process.stderr.write(`gatehouse: ${e.message}\n`);
    return e.exitCode;
  }
}
