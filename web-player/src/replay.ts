/**
 * Replay: asciinema-player on the recording, with speed control, seeking (the player's bar and
 * keys), and the command markers as a list: click one (or n / p) to land at the moment it ran,
 * its decision shown. `?t=SECONDS` opens at a time (links from the command search).
 */
import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { api, type Marker, type Me } from './api.js';
import { badge, bytes, clock, h, keys, time } from './dom.js';

const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];

export async function replayPage(root: HTMLElement, _me: Me, id: string): Promise<void> {
  document.title = `Gatehouse — replay ${id}`;
  const d = await api.recording(id);
  const r = d.recording;
  const start = Number(new URLSearchParams(location.search).get('t') ?? '0') || 0;
  const commands = d.markers.filter((m) => m.command !== null);
  const notes = d.markers.filter((m) => m.command === null);

  const speed = h('select#speed', { 'aria-label': 'speed' }, ...SPEEDS.map((s) => h('option', { value: s, selected: s === 1 }, `${s}×`)));
  const position = h('span#position.mono', { 'data-time': '0' }, clock(0));
  const playerBox = h('div.player', {});
  // fit: 'width' inside a box as wide as the viewport's height allows (cell ≈ 0.6 × 1.33 em), so the whole screen shows.
  playerBox.style.maxWidth = `calc((100vh - 210px) * ${((d.cols * 0.6) / (d.rows * 1.33)).toFixed(3)})`;
  const list = h(
    'ol#markers.markers',
    { 'aria-label': 'commands' },
    ...commands.map((m, i) =>
      h('li', {}, h('button.marker', { type: 'button', 'data-time': m.time, 'data-index': i, onclick: () => void jump(m) }, h('span.mono.muted', {}, clock(m.time)), badge(m.decision ?? '', m.decision ?? ''), h('code', {}, m.command ?? ''))),
    ),
  );
  root.append(
    h(
      'div.meta',
      {},
      h('h1', {}, `${r.user} on ${r.target}`, ' ', badge(r.state, r.state), d.torn ? badge('torn end', 'interrupted') : null),
      h('dl', {}, ...pairs([
        ['session', r.id],
        ['incident', r.incident],
        ['grant', r.grantId],
        ['started', time(r.startedAt)],
        ['ended', time(r.endedAt)],
        ['length', clock(d.duration)],
        ['size', bytes(r.bytes)],
        ['sha256', r.sha256 ?? '—'],
      ])),
    ),
    h(
      'div.replay',
      {},
      h('div.stage', {}, h('div.controls', {}, h('label', {}, 'speed ', speed), h('span.muted', {}, 'at '), position, h('span.muted', {}, ` / ${clock(d.duration)}`)), playerBox),
      h('aside.side', {}, h('h2', {}, 'Commands ', h('span.count', {}, commands.length)), commands.length === 0 ? h('p.muted', {}, 'No commands were judged in this session.') : list, ...(notes.length > 0 ? [h('h2', {}, 'Notes'), h('ul.notes', {}, ...notes.map((n) => h('li', {}, h('span.mono.muted', {}, clock(n.time)), ' ', n.label)))] : [])),
    ),
  );

  let player: AsciinemaPlayer.Player | null = null;
  const make = (at: number, rate: number, autoPlay: boolean): void => {
    player?.dispose();
    playerBox.replaceChildren();
    player = AsciinemaPlayer.create({ url: api.castUrl(id), fetchOpts: { credentials: 'same-origin' } }, playerBox, {
      cols: d.cols,
      rows: d.rows,
      speed: rate,
      startAt: at,
      autoPlay,
      preload: true,
      fit: 'width',
      idleTimeLimit: 3,
      markers: commands.map((m): [number, string] => [m.time, `${m.decision ?? ''}: ${m.command ?? ''}`]),
      terminalFontFamily: 'ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
    });
  };
  const jump = async (m: Marker): Promise<void> => {
    if (player === null) return;
    await player.seek(m.time);
    tick();
  };
  const tick = (): void => {
    if (player === null) return;
    const t = player.getCurrentTime();
    position.textContent = clock(t);
    position.dataset.time = t.toFixed(3);
    let current = -1;
    commands.forEach((m, i) => {
      if (m.time <= t + 0.05) current = i;
    });
    list.querySelectorAll('button.marker').forEach((b, i) => b.classList.toggle('current', i === current));
  };
  speed.addEventListener('change', () => {
    const at = player?.getCurrentTime() ?? 0;
    make(at, Number(speed.value), true);
  });
  make(start, 1, false);
  setInterval(tick, 100);

  const step = (dir: 1 | -1): void => {
    const t = player?.getCurrentTime() ?? 0;
    const next = dir > 0 ? commands.find((m) => m.time > t + 0.05) : [...commands].reverse().find((m) => m.time < t - 0.05);
    if (next) void jump(next);
  };
  const setSpeed = (dir: 1 | -1): void => {
    const i = SPEEDS.indexOf(Number(speed.value)) + dir;
    const s = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i))];
    if (s !== undefined && String(s) !== speed.value) {
      speed.value = String(s);
      speed.dispatchEvent(new Event('change'));
    }
  };
  keys(
    {
      n: () => step(1),
      p: () => step(-1),
      '+': () => setSpeed(1),
      '-': () => setSpeed(-1),
      ' ': () => {
        const p = player as (AsciinemaPlayer.Player & { el: HTMLElement }) | null;
        p?.el.focus();
        // The player's own keys: space play/pause, ←/→ seek 5 s, 0-9 jump to 0%..90%.
        p?.el.dispatchEvent(new KeyboardEvent('keydown', { key: ' ', bubbles: true }));
      },
    },
    'space play/pause · ←/→ seek · n/p next/previous command · +/- speed',
  );
}

function pairs(items: [string, string][]): HTMLElement[] {
  return items.map(([k, v]) => h('div.kv', {}, h('dt', {}, k), h('dd.mono', {}, v)));
}
