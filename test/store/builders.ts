/** Rows for the store conformance suite: complete, valid, and distinct unless told otherwise. */
import { randomUUID } from 'node:crypto';
import type { Grant, Session } from '../../src/domain/types.js';
import { CATALOGUE, type EventType } from '../../src/events/catalogue.js';
import type { UnsealedEvent } from '../../src/events/types.js';
import type { CommandRow, RecordingRow } from '../../src/store/ports.js';

export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const MIN = 60_000;

let n = 0;
/** A unique id with the shape of the real ones. */
export function id(prefix: 'g' | 's'): string {
  n++;
  return `${prefix}-${String(n).padStart(21, '0')}`;
}

export function event(over: Partial<UnsealedEvent> & { type?: EventType } = {}): UnsealedEvent {
  const type = over.type ?? 'grant.denied';
  return {
    id: randomUUID(),
    time: new Date(T0).toISOString(),
    type,
    code: CATALOGUE[type].code,
    severity: CATALOGUE[type].severity,
    broker: 'b1',
    actor: 'alice',
    user: 'alice',
    target: 'web-1',
    grantId: null,
    incident: 'INC-1',
    sessionId: null,
    source: null,
    data: { reason: 'r' },
    ...over,
  };
}

export function grant(over: Partial<Grant> = {}): Grant {
  return {
    id: id('g'),
    user: 'alice',
    targets: ['web-1', 'web-2'],
    incident: 'INC-1',
    template: 'diagnose',
    reason: 'disk full',
    durationMs: 30 * MIN,
    breakGlass: false,
    state: 'pending',
    requestedAt: T0,
    requestedBy: 'alice',
    approvals: [],
    approvedAt: null,
    expiresAt: null,
    endedAt: null,
    endReason: null,
    endedBy: null,
    reviewRequired: false,
    version: 1,
    ...over,
  };
}

export function session(over: Partial<Session> = {}): Session {
  return {
    id: id('s'),
    grantId: 'g-1',
    user: 'alice',
    target: 'web-1',
    incident: 'INC-1',
    kind: 'shell',
    command: null,
    state: 'live',
    startedAt: T0,
    endedAt: null,
    endReason: null,
    exitCode: null,
    source: '127.0.0.1:50000',
    broker: 'b1',
    recording: null,
    ...over,
  };
}

export function recording(over: Partial<RecordingRow> = {}): RecordingRow {
  return {
    sessionId: id('s'),
    path: '2026/01/01/s.cast',
    grantId: 'g-1',
    user: 'alice',
    target: 'web-1',
    incident: 'INC-1',
    startedAt: T0,
    endedAt: null,
    state: 'live',
    bytes: null,
    sha256: null,
    ...over,
  };
}

export function command(sessionId: string, over: Partial<CommandRow> = {}): CommandRow {
  return { sessionId, offset: 1.25, at: T0 + 1_250, command: 'ls -la', decision: 'allow', ...over };
}
