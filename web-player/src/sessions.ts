/**
 * Sessions: live ones (watchers; refreshed every second) and recordings (auditors), filtered by
 * user, target, incident and date, and searched by command text across recordings. The filters
 * live in the URL, so a view can be shared in the incident channel.
 */
import { api, type LiveSession, type Me, type Recording, type SessionsPage } from './api.js';
import { ago, badge, bytes, clear, clock, h, keys, time } from './dom.js';

const FIELDS = [
  ['user', 'user', 'text'],
  ['target', 'target', 'text'],
  ['incident', 'incident', 'text'],
  ['since', 'from', 'date'],
  ['until', 'to', 'date'],
] as const;

export async function sessionsPage(root: HTMLElement, me: Me): Promise<void> {
  document.title = 'Gatehouse — sessions';
  const params = new URLSearchParams(location.search);
  const inputs = new Map<string, HTMLInputElement>();
  const field = (name: string, label: string, type: string): HTMLElement => {
    const input = h('input', { id: `f-${name}`, name, type, value: params.get(name) ?? '', autocomplete: 'off', spellcheck: 'false' });
    inputs.set(name, input);
    return h('label.field', {}, h('span', {}, label), input);
  };
  const search = h('input#q', { name: 'q', type: 'search', placeholder: 'command text, e.g. systemctl restart', value: params.get('q') ?? '', autocomplete: 'off', spellcheck: 'false' });
  inputs.set('q', search);
  const form = h(
    'form.filters',
    { role: 'search' },
    ...FIELDS.map(([n, l, t]) => field(n, l, t)),
    h('label.field.grow', {}, h('span', {}, 'search commands'), search),
    h('button', { type: 'submit' }, 'Apply'),
    h('button.link', { type: 'button', onclick: () => reset() }, 'Clear'),
  );
  const liveBox = h('section#live', {});
  const recBox = h('section#recorded', {});
  const status = h('span.muted.small', { 'aria-live': 'polite' });
  root.append(form, h('div.status', {}, status), ...(me.can.live ? [liveBox] : []), ...(me.can.replay ? [recBox] : []));

  const query = (): URLSearchParams => {
    const q = new URLSearchParams();
    for (const [k, input] of inputs) if (input.value.trim() !== '') q.set(k, input.value.trim());
    return q;
  };
  let timer: ReturnType<typeof setTimeout> | null = null;
  let seq = 0;
  const load = async (): Promise<void> => {
    const mine = ++seq;
    if (timer) clearTimeout(timer);
    try {
      const page = await api.sessions(query());
      if (mine !== seq) return;
      render(page);
      status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = err instanceof Error ? err.message : String(err);
    }
    if (mine === seq) timer = setTimeout(() => void load(), 1000);
  };
  const apply = (): void => {
    const q = query().toString();
    history.replaceState(null, '', q === '' ? location.pathname : `${location.pathname}?${q}`);
    void load();
  };
  const reset = (): void => {
    for (const input of inputs.values()) input.value = '';
    apply();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });

  let selected = -1;
  const rows = (): HTMLTableRowElement[] => [...root.querySelectorAll<HTMLTableRowElement>('tr[data-href]')];
  const select = (i: number): void => {
    const all = rows();
    if (all.length === 0) return;
    selected = Math.max(0, Math.min(all.length - 1, i));
    all.forEach((r, k) => r.classList.toggle('selected', k === selected));
    all[selected]?.scrollIntoView({ block: 'nearest' });
  };

  function render(page: SessionsPage): void {
    const href = rows()[selected]?.dataset.href;
    if (page.live !== null) {
      clear(liveBox);
      liveBox.append(h('h2', {}, 'Live sessions ', h('span.count', {}, page.live.length)), page.live.length === 0 ? h('p.muted', {}, 'No live sessions.') : liveTable(page.live));
    }
    if (page.recorded !== null) {
      clear(recBox);
      const q = inputs.get('q')?.value.trim() ?? '';
      recBox.append(
        h('h2', {}, q === '' ? 'Recordings ' : `Recordings with “${q}” `, h('span.count', {}, page.recorded.length)),
        page.recorded.length === 0 ? h('p.muted', {}, 'No recordings match.') : recordingsTable(page.recorded),
      );
    }
    const again = rows().findIndex((r) => r.dataset.href === href);
    if (again >= 0) select(again);
  }

  keys(
    {
      '/': () => search.focus(),
      j: () => select(selected + 1),
      k: () => select(selected - 1),
      Enter: () => {
        const r = rows()[selected];
        if (r?.dataset.href) location.assign(r.dataset.href);
      },
      r: () => void load(),
      Escape: () => {
        (document.activeElement as HTMLElement | null)?.blur();
      },
    },
    '/ search · j/k move · Enter open · r refresh · Esc leave field',
  );
  await load();
}

function liveTable(list: readonly LiveSession[]): HTMLTableElement {
  return h(
    'table.grid',
    { 'aria-label': 'live sessions' },
    h('thead', {}, h('tr', {}, ...['session', 'user', 'target', 'incident', 'started', 'for', 'kind', 'broker', ''].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...list.map((s) =>
        h(
          'tr.live-row',
          { 'data-href': s.watchable ? `/live/${s.id}` : null, 'data-session': s.id, onclick: () => s.watchable && location.assign(`/live/${s.id}`) },
          h('td.mono', {}, s.watchable ? h('a', { href: `/live/${s.id}` }, s.id) : s.id),
          h('td', {}, s.user),
          h('td', {}, s.target),
          h('td', {}, s.incident),
          h('td.mono', {}, time(s.startedAt)),
          h('td.mono', {}, ago(s.startedAt)),
          h('td', {}, s.kind === 'exec' ? `exec: ${s.command ?? ''}` : 'shell'),
          h('td', {}, s.broker),
          h('td', {}, s.watchable ? h('a.button', { href: `/live/${s.id}` }, 'Watch') : h('span.muted', { title: 'only the broker that holds a session can stream it' }, `on ${s.broker}`)),
        ),
      ),
    ),
  );
}

function recordingsTable(list: readonly Recording[]): HTMLTableElement {
  return h(
    'table.grid',
    { 'aria-label': 'recordings' },
    h('thead', {}, h('tr', {}, ...['session', 'user', 'target', 'incident', 'started', 'ended', 'state', 'cmds', 'size', 'sha256'].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...list.flatMap((r) => {
        const row = h(
          'tr.rec-row',
          { 'data-href': `/replay/${r.id}`, 'data-session': r.id, onclick: () => location.assign(`/replay/${r.id}`) },
          h('td.mono', {}, h('a', { href: `/replay/${r.id}` }, r.id)),
          h('td', {}, r.user),
          h('td', {}, r.target),
          h('td', {}, r.incident),
          h('td.mono', {}, time(r.startedAt)),
          h('td.mono', {}, time(r.endedAt)),
          h('td', {}, badge(r.state, r.state)),
          h('td.num', {}, r.commands),
          h('td.num', {}, bytes(r.bytes)),
          h('td.mono.muted', { title: r.sha256 ?? '' }, r.sha256 ? r.sha256.slice(0, 12) : '—'),
        );
        if (r.matches.length === 0) return [row];
        const matches = h(
          'tr.matches',
          {},
          h(
            'td',
            { colspan: 10 },
            h(
              'ul.hits',
              {},
              ...r.matches.map((m) =>
                h('li', {}, h('a.hit', { href: `/replay/${r.id}?t=${m.offset.toFixed(2)}` }, h('span.mono.muted', {}, clock(m.offset)), ' ', badge(m.decision, m.decision), ' ', h('code', {}, m.command))),
              ),
            ),
          ),
        );
        return [row, matches];
      }),
    ),
  );
}
