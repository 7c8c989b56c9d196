/**
 * The app shell: who is signed in, sign-out, and the page for the path
 * (/sessions, /replay/:id, /live/:id). Each page is a full load (the broker checks the role for
 * every path), so there is no client-side router state to get wrong.
 */
import './style.css';
import { api } from './api.js';
import { h } from './dom.js';
import { sessionsPage } from './sessions.js';

async function main(): Promise<void> {
  const root = document.getElementById('app') as HTMLElement;
  const me = await api.me();
  (document.getElementById('whoami') as HTMLElement).textContent = `${me.user} (${me.roles.join(', ')})`;
  (document.getElementById('signout') as HTMLButtonElement).addEventListener('click', () => {
    void api.logout().finally(() => location.assign('/login'));
  });
  const path = location.pathname;
  const m = /^\/(replay|live)\/([^/]+)$/.exec(path);
  // The player and the terminal load only on the pages that use them.
  if (m?.[1] === 'replay') await (await import('./replay.js')).replayPage(root, me, decodeURIComponent(m[2] as string));
  else if (m?.[1] === 'live') await (await import('./live.js')).livePage(root, me, decodeURIComponent(m[2] as string));
  else await sessionsPage(root, me);
}

main().catch((err: unknown) => {
  const root = document.getElementById('app') as HTMLElement;
  root.append(h('p.error', { role: 'alert' }, err instanceof Error ? err.message : String(err)));
});
