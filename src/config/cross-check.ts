/**
 * The checks zod cannot make item by item: duplicate names, owners and mentions that name no user,
 * command rules that do not compile, settings that need another section. They run on the parsed
 * config, and also on the parts of an invalid one that parse, so a file with both kinds of
 * mistakes gets every error in one report.
 */
import type { z } from 'zod';
import { compileRules } from '../policy/index.js';
import { notifySchema, sinkSchema } from './delivery-schema.js';
import { configSchema, targetSchema, templateSchema, userSchema, type ParsedConfig } from './schema.js';

type Each<T extends readonly unknown[]> = readonly (T[number] | undefined)[];

/**
 * What the cross-checks read. From a config that failed the schema, each list keeps the items
 * that parse on their own, an `undefined` hole for the others (so paths keep their indexes), and a
 * section that does not parse is `undefined`: its checks are skipped, its errors already reported.
 */
export interface Checkable {
  readonly users: Each<ParsedConfig['users']>;
  readonly targets: Each<ParsedConfig['targets']>;
  readonly templates: Each<ParsedConfig['templates']>;
  readonly sinks: Each<ParsedConfig['sinks']>;
  readonly notify: Each<ParsedConfig['notify']>;
  readonly listen: ParsedConfig['listen'] | undefined;
  readonly tickets: ParsedConfig['tickets'] | undefined;
}

/** The items and sections of an invalid config that are valid on their own (best effort). */
export function partsThatParse(raw: unknown): Checkable {
  const obj: Record<string, unknown> = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const each = <T>(value: unknown, item: z.ZodType<T>): (T | undefined)[] => {
    if (!Array.isArray(value)) return [];
    return value.map((v: unknown) => {
      const r = item.safeParse(v);
      return r.success ? r.data : undefined;
    });
  };
  const section = <T>(value: unknown, schema: z.ZodType<T>): T | undefined => {
    const r = schema.safeParse(value);
    return r.success ? r.data : undefined;
  };
  return {
    users: each(obj.users, userSchema),
    targets: each(obj.targets, targetSchema),
    templates: each(obj.templates, templateSchema),
    sinks: each(obj.sinks, sinkSchema),
    notify: each(obj.notify, notifySchema),
    listen: section(obj.listen, configSchema.shape.listen),
    tickets: section(obj.tickets, configSchema.shape.tickets),
  };
}

export function crossCheck(c: Checkable): string[] {
  const problems: string[] = [];
  const dup = (items: readonly ({ name: string } | undefined)[], where: string): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (item === undefined) return;
      if (seen.has(item.name)) problems.push(`${where}[${i}].name: duplicate name ${JSON.stringify(item.name)}`);
      seen.add(item.name);
    });
  };
  dup(c.users, 'users');
  dup(c.targets, 'targets');
  dup(c.templates, 'templates');
  c.templates.forEach((t, i) => {
    if (t === undefined) return;
    for (const kind of ['allow', 'deny', 'review'] as const) {
      t.commands[kind].forEach((rule, j) => {
        try {
          compileRules({ allow: kind === 'allow' ? [rule] : [], deny: kind === 'deny' ? [rule] : [], review: kind === 'review' ? [rule] : [] });
        } catch (err) {
          problems.push(`templates[${i}].commands.${kind}[${j}]: ${(err as Error).message}`);
        }
      });
    }
  });
  // A user item that failed the schema may still be the owner named: only the names of a fully
  // parsed user list are authoritative, so with holes unknown owners are not reported.
  const allUsers = c.users.every((u) => u !== undefined);
  const userNames = new Set(c.users.flatMap((u) => (u === undefined ? [] : [u.name])));
  c.targets.forEach((t, i) =>
    t?.owners.forEach((o, j) => {
      if (allUsers && !userNames.has(o)) problems.push(`targets[${i}].owners[${j}]: unknown user ${JSON.stringify(o)}`);
    }),
  );
  // `gatehouse` is the broker's own actor (expiry, anomaly and incident revocations): no person may hold it.
  c.users.forEach((u, i) => {
    if (u?.name === 'gatehouse') problems.push(`users[${i}].name: "gatehouse" is reserved for the broker itself`);
  });
  if (c.tickets?.webhookSecret !== undefined && c.listen !== undefined && c.listen.http === undefined) problems.push('tickets.webhookSecret: the incident webhook needs the HTTP listener (listen.http)');
  const sinkNames = new Set(c.sinks.flatMap((s, i) => (s === undefined ? [] : [s.name ?? `${Object.keys(s).find((k) => k !== 'name') ?? 'sink'}-${i}`])));
  c.notify.forEach((n, i) => {
    if (n === undefined) return;
    if (n.name !== undefined && sinkNames.has(n.name)) problems.push(`notify[${i}].name: ${JSON.stringify(n.name)} is also a sink's name; each needs its own cursor`);
    for (const name of Object.keys('slack' in n ? (n.slack.mentions ?? {}) : {})) {
      if (allUsers && !userNames.has(name)) problems.push(`notify[${i}].slack.mentions.${name}: unknown user`);
    }
  });
  return problems;
}
