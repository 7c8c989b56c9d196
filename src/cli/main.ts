/**
 * The `gatehouse` command line. Every command that prints data takes --json (one JSON document on
 * stdout); exit 0 is success, and a refusal prints one line on stderr and exits non-zero with the
 * code its error maps to (docs/errors.md).
 */
import { asGatehouseError } from '../domain/errors.js';
import { auditCommand } from './commands/audit.js';
import { demoCommand } from './commands/demo.js';
import { eventsCommand } from './commands/events.js';
import { grantCommand } from './commands/grant.js';
import { policyCommand } from './commands/policy.js';
import { replayCommand } from './commands/replay.js';
import { webCommand } from './commands/web.js';
import { serveCommand } from './commands/serve.js';
import { sessionsCommand } from './commands/sessions.js';
import { userCommand } from './commands/user.js';
import { reportCommand } from './commands/report.js';
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
  gatehouse sessions watch ID                              (follow a live session, read-only)
  gatehouse replay ID [--speed 2] [--from MARKER] [--markers]
  gatehouse web login                                      (a one-time sign-in link to the web UI)
  gatehouse sessions approve-command ID [--note "..."]     (reject-command to refuse)
  gatehouse policy check --config F --template NAME 'COMMAND'
  gatehouse report  --incident INC | --since 30d             (post-incident review; summary across incidents)
  gatehouse audit verify   [--config F | --from FILE --public-key PEM] [--anchor CHECKPOINT] [--recordings DIR]
  gatehouse audit export   [--from-seq N] [--out FILE]
  gatehouse audit pubkey
  gatehouse events watch   [--from-seq N] [--types GLOB,..] [--min-severity S] [--limit N]

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
  replay: replayCommand,
  web: webCommand,
  user: userCommand,
  report: reportCommand,
  audit: auditCommand,
  events: eventsCommand,
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
