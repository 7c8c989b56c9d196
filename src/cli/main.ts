/**
 * The `gatehouse` command line. Every command that prints data takes --json (one JSON document on
 * stdout); exit 0 is success, and a refusal prints one line on stderr and exits non-zero with the
 * code its error maps to (docs/errors.md).
 */
import { asGatehouseError } from '../domain/errors.js';
import { VERSION } from '../domain/version.js';

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
127.0.0.1:9090), --token TOKEN (or GATEHOUSE_TOKEN), --tls-ca FILE (or GATEHOUSE_TLS_CA) for TLS,
--tls-cert FILE --tls-key FILE (GATEHOUSE_TLS_CERT, GATEHOUSE_TLS_KEY) where the broker asks for a
client certificate.
Add --json for one JSON document on stdout.
`;

type Command = (args: readonly string[]) => Promise<number>;

/**
 * Each command is loaded when it is run: a client command (`grant list`) must not pay for loading
 * the broker (ssh2, the AWS SDK, the terminal emulator, the shell parser) on every call.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  grant: async () => (await import('./commands/grant.js')).grantCommand,
  sessions: async () => (await import('./commands/sessions.js')).sessionsCommand,
  policy: async () => (await import('./commands/policy.js')).policyCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  web: async () => (await import('./commands/web.js')).webCommand,
  user: async () => (await import('./commands/user.js')).userCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  events: async () => (await import('./commands/events.js')).eventsCommand,
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
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    process.stderr.write(`gatehouse: unknown command ${JSON.stringify(name)}; see gatehouse help\n`);
    return 2;
  }
  try {
    const command = await load();
    return await command(args);
  } catch (err) {
    const e = asGatehouseError(err);
    process.stderr.write(`gatehouse: ${e.message}\n`);
    return e.exitCode;
  }
}
