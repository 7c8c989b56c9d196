/**
 * Sign-in: a one-time link (`gatehouse web login` → /login#link=TOKEN; the fragment never reaches
 * a server log) is redeemed at once; otherwise the user pastes their API token.
 */
import './style.css';
import { api, ApiError } from './api.js';

const form = document.getElementById('login') as HTMLFormElement;
const input = document.getElementById('token') as HTMLInputElement;
const error = document.getElementById('error') as HTMLElement;

function next(): string {
  const n = new URLSearchParams(location.search).get('next') ?? '/sessions';
  // Only local paths: never an open redirect.
  return n.startsWith('/') && !n.startsWith('//') ? n : '/sessions';
}

async function signIn(body: { token: string } | { link: string }): Promise<void> {
  error.textContent = '';
  try {
    await api.login(body);
    location.replace(next());
  } catch (err) {
    error.textContent = err instanceof ApiError ? err.message : 'cannot reach the broker';
    input.focus();
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = input.value.trim();
  if (token === '') {
    error.textContent = 'paste your API token, or use gatehouse web login';
    return;
  }
  void signIn({ token });
});

const link = new URLSearchParams(location.hash.slice(1)).get('link');
if (link) {
  history.replaceState(null, '', location.pathname + location.search);
  void signIn({ link });
}
