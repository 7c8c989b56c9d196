/**
 * Reference docs rendered from the code, so they cannot drift: docs/events.md from the event
 * catalogue (payload fields derived from the zod schemas via JSON Schema) and docs/errors.md from
 * the error registry. Pure: `scripts/gen-docs.mjs` writes the files (`npm run docs`), and
 * test/unit/docs.test.ts fails when the committed files differ from what these functions render.
 */
import { z } from 'zod';
import { ErrorCodes, GrpcStatus, type ErrorCode } from '../domain/errors.js';
import { CATALOGUE, type EventType } from './catalogue.js';

const REGENERATE = '<!-- Generated from the code by `npm run docs`; do not edit by hand. -->';

export function renderEventCatalogue(): string {
  const types = (Object.keys(CATALOGUE) as EventType[]).sort((a, b) => CATALOGUE[a].code.localeCompare(CATALOGUE[b].code));
  const rows = types.map((type) => {
    const spec = CATALOGUE[type];
    const ocsf = `${spec.ocsf.classUid} ${spec.ocsf.className} / ${spec.ocsf.activityId} ${spec.ocsf.activityName}`;
    return row([`\`${type}\``, spec.code, spec.severity, ocsf, spec.description, payloadFields(spec.data)]);
  });
  return [
    '# Event catalogue',
    '',
    REGENERATE,
    '',
    'Every event Gatehouse writes to the audit chain and ships to sinks, from `src/events/catalogue.ts`.',
    'Each event also carries `seq`, `id`, `time`, `type`, `code`, `severity`, `broker`, `actor`, `user`,',
    '`target`, `grantId`, `incident`, `sessionId`, `source`, `prevHash` and `hash`; the table lists the',
    'fields of its `data` payload (`?` marks an optional field).',
    '',
    row(['Type', 'Code', 'Severity', 'OCSF class / activity', 'Description', 'Payload (`data`)']),
    row(['---', '---', '---', '---', '---', '---']),
    ...rows,
    '',
  ].join('\n');
}

export function renderErrorCodes(): string {
  const statusName = new Map<number, string>(Object.entries(GrpcStatus).map(([name, n]) => [n, name]));
  const rows = (Object.keys(ErrorCodes) as ErrorCode[]).map((code) => {
    const spec = ErrorCodes[code];
    return row([`\`${code}\``, `${spec.grpc} ${statusName.get(spec.grpc) ?? ''}`.trim(), String(spec.exit), spec.description]);
  });
  return [
    '# Error codes',
    '',
    REGENERATE,
    '',
    'Every `GatehouseError` code, from `src/domain/errors.ts`, with the gRPC status the API returns and',
    'the exit code of the `gatehouse` command: 1 refusal, 2 bad input, 3 needs review, 4 unavailable,',
    '70 internal.',
    '',
    row(['Code', 'gRPC status', 'Exit', 'Description']),
    row(['---', '---', '---', '---']),
    ...rows,
    '',
  ].join('\n');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`;
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
};

/** `name: type` per payload field, joined with <br>. */
function payloadFields(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema) as JsonSchema;
  const required = new Set(json.required ?? []);
  const fields = Object.entries(json.properties ?? {}).map(([name, s]) => `\`${name}${required.has(name) ? '' : '?'}: ${typeText(s)}\``);
  return fields.length > 0 ? fields.join('<br>') : '(none)';
}

/** A TypeScript-like rendering of a JSON Schema type: `string \| null`, `"a" \| "b"`, `{ x: number }[]`. */
function typeText(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return alternatives.map(typeText).join(' | ');
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  if (types.length === 0) return 'unknown';
  return types.map((t) => oneType(t, s)).join(' | ');
}

function oneType(t: string, s: JsonSchema): string {
  switch (t) {
    case 'array': {
      const item = s.items ? typeText(s.items) : 'unknown';
      return topLevelUnion(item) ? `(${item})[]` : `${item}[]`;
    }
    case 'object': {
      if (s.properties) {
        const required = new Set(s.required ?? []);
        return `{ ${Object.entries(s.properties)
          .map(([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${typeText(v)}`)
          .join(', ')} }`;
      }
      const values = typeof s.additionalProperties === 'object' ? typeText(s.additionalProperties) : 'unknown';
      return `Record<string, ${values}>`;
    }
    case 'integer':
      return 'number';
    default:
      return t;
  }
}

/** True when `text` is `A | B` outside any braces, brackets or parentheses. */
function topLevelUnion(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '(' || c === '<' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === '>' || c === ']') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}
