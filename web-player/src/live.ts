/**
 * Live: the session's terminal as it happens (xterm.js, read-only), starting from its current
 * screen (the broker sends a snapshot first), then output as it is relayed; a Kill button for
 * watchers and admins (a reason is required; the responder sees it).
 */
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { api, ApiError, type LiveSession, type Me } from './api.js';
import { ago, badge, h, keys, time } from './dom.js';

type ServerMsg =
  | { type: 'hello'; session: LiveSession }
  | { type: 'snapshot'; cols: number; rows: number; data: string }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'end'; reason: string };

export async function livePage(root: HTMLElement, me: Me, id: string): Promise<void> {
  document.title = `Gatehouse — live ${id}`;
  const state = badge('connecting', 'connecting');
  state.id = 'state';
  const title = h('h1', {}, id, ' ', state);
  const meta = h('dl', {});
  const reason = h('input#kill-reason', { type: 'text', placeholder: 'reason (shown to the responder, recorded in the audit trail)', maxlength: 1000, autocomplete: 'off', 'aria-label': 'reason' });
  const killError = h('span.error', { role: 'alert' });
  const killForm = h('form#kill-form.kill', { hidden: true }, reason, h('button.danger', { type: 'submit' }, 'Kill session'), h('button.link', { type: 'button', onclick: () => hideKill() }, 'Cancel'), killError);
  const killButton = h('button.danger', { id: 'kill', type: 'button', onclick: () => showKill(), disabled: !me.can.kill, title: me.can.kill ? 'Kill this session (k)' : 'only watchers and admins can kill' }, 'Kill…');
  const termBox = h('div#terminal.terminal', {});
  root.append(h('div.meta', {}, title, meta), h('div.actions', {}, killButton, killForm), termBox);

  const term = new Terminal({
    disableStdin: true,
    cursorBlink: false,
    scrollback: 5000,
    fontSize: 13,
    fontFamily: 'ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
    theme: { background: '#0b0e14', foreground: '#c9d1d9', cursor: '#f0883e' },
  });
  term.open(termBox);

  let ended = false;
  const setState = (text: string, kind: string): void => {
    state.textContent = text;
    state.dataset.kind = kind;
  };
  const showKill = (): void => {
    if (!me.can.kill || ended) return;
    killButton.hidden = true;
    killForm.hidden = false;
    reason.focus();
  };
  const hideKill = (): void => {
    killForm.hidden = true;
    killButton.hidden = false;
    killError.textContent = '';
  };
  killForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const why = reason.value.trim();
    if (why === '') {
      killError.textContent = 'a reason is required';
      reason.focus();
      return;
    }
    killError.textContent = '';
    api.kill(id, why).then(
      () => {
        setState('killing', 'killing');
        killForm.hidden = true;
      },
      (err: unknown) => (killError.textContent = err instanceof ApiError ? err.message : String(err)),
    );
  });

  let failures = 0;
  const connect = (): void => {
    const ws = new WebSocket(api.liveUrl(id));
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => (failures = 0);
    ws.onmessage = (ev: MessageEvent<string | ArrayBuffer>) => {
      if (typeof ev.data !== 'string') {
        term.write(new Uint8Array(ev.data));
        return;
      }
      const m = JSON.parse(ev.data) as ServerMsg;
      switch (m.type) {
        case 'hello':
          meta.replaceChildren(
            ...[
              ['user', m.session.user],
              ['target', m.session.target],
              ['incident', m.session.incident],
              ['started', `${time(m.session.startedAt)} (${ago(m.session.startedAt)} ago)`],
              ['from', m.session.source],
              ['broker', m.session.broker],
            ].map(([k, v]) => h('div.kv', {}, h('dt', {}, k as string), h('dd', {}, v as string))),
          );
          break;
        case 'snapshot':
          term.reset();
          term.resize(m.cols, m.rows);
          term.write(m.data);
          setState('live', 'live');
          break;
        case 'resize':
          term.resize(m.cols, m.rows);
          break;
        case 'end':
          ended = true;
          setState(`ended: ${m.reason}`, 'ended');
          killButton.disabled = true;
          killForm.hidden = true;
          break;
      }
    };
    ws.onclose = () => {
      if (ended) return;
      if (++failures > 3) {
        setState('not live here (ended, or held by another broker)', 'ended');
        killButton.disabled = true;
        return;
      }
      setState('disconnected, retrying', 'connecting');
      setTimeout(connect, 1000);
    };
  };
  connect();

  keys({ k: () => showKill(), Escape: () => hideKill() }, 'k kill · Esc cancel');
}
