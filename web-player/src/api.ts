/** The broker's web API (docs/web.md "API"), typed. Every call sends the session cookie. */

export interface Me {
  readonly user: string;
  readonly roles: readonly string[];
  readonly can: { readonly live: boolean; readonly kill: boolean; readonly replay: boolean };
  readonly broker?: string;
}

export interface LiveSession {
  readonly id: string;
  readonly grantId: string;
  readonly user: string;
  readonly target: string;
  readonly incident: string;
  readonly kind: string;
  readonly command: string | null;
  readonly startedAt: string;
  readonly broker: string;
  readonly source: string;
  readonly watchable: boolean;
}

export type Decision = 'allow' | 'deny' | 'review';

export interface CommandMatch {
  readonly offset: number;
  readonly command: string;
  readonly decision: Decision;
}

export interface Recording {
  readonly id: string;
  readonly grantId: string;
  readonly user: string;
  readonly target: string;
  readonly incident: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly state: 'live' | 'closed' | 'interrupted';
  readonly bytes: number | null;
  readonly sha256: string | null;
  readonly commands: number;
  readonly matches: readonly CommandMatch[];
}

export interface SessionsPage {
  readonly live: readonly LiveSession[] | null;
  readonly recorded: readonly Recording[] | null;
}

export interface Marker {
  readonly time: number;
  readonly label: string;
  readonly decision: Decision | null;
  readonly command: string | null;
}

export interface RecordingDetail {
  readonly recording: Recording;
  readonly cols: number;
  readonly rows: number;
  readonly duration: number;
  readonly torn: boolean;
  readonly markers: readonly Marker[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const data = (await res.json().catch(() => ({}))) as { message?: string };
  if (res.status === 401 && !path.startsWith('/api/login')) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  if (!res.ok) throw new ApiError(res.status, data.message ?? `${res.status} ${res.statusText}`);
  return data as T;
}

export const api = {
  me: () => call<Me>('GET', '/api/me'),
  login: (body: { token: string } | { link: string }) => call<Me>('POST', '/api/login', body),
  logout: () => call<{ ok: boolean }>('POST', '/api/logout', {}),
  sessions: (query: URLSearchParams) => call<SessionsPage>('GET', `/api/sessions?${query.toString()}`),
  recording: (id: string) => call<RecordingDetail>('GET', `/api/recordings/${encodeURIComponent(id)}`),
  castUrl: (id: string) => `/api/recordings/${encodeURIComponent(id)}/cast`,
  kill: (id: string, reason: string) => call<LiveSession>('POST', `/api/sessions/${encodeURIComponent(id)}/kill`, { reason }),
  liveUrl: (id: string) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/sessions/${encodeURIComponent(id)}/live`,
};
