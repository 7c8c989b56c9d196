/**
 * Port-forwarding destinations as `host:port` strings, written one way so that the config's
 * allow-list and what a client asks for compare as plain strings: host names in lower case, IPv4
 * as dotted quads, IPv6 in brackets in its canonical (compressed) form. Pure.
 *
 * Matching is exact, on purpose: `localhost:5432` does not match `127.0.0.1:5432`. The name is
 * resolved by the target, which is what the template's author named.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);

/** The canonical `[v6]` form, or null when `host` is not a plain IPv6 address (no zone ids). */
function ipv6(host: string): string | null {
  if (!host.includes(':') || host.includes('%')) return null;
  try {
    const h = new URL(`http://[${host}]/`).hostname;
    return h.startsWith('[') ? h : null;
  } catch {
    return null;
  }
}

/** `host` and `port` as one destination string, or null when either is not acceptable. */
export function destinationKey(host: string, port: number): string | null {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return null;
  const v6 = ipv6(host);
  if (v6 !== null) return `${v6}:${port}`;
  if (IPV4.test(host)) return `${host}:${port}`;
  const name = host.toLowerCase();
  // All digits and dots but not a dotted quad ("127.1", "2130706433"): resolvers read these as
  // addresses in ways that differ between libcs; refuse rather than guess.
  if (/^[\d.]+$/.test(name) || !HOSTNAME.test(name)) return null;
  return `${name}:${port}`;
}

/** Parses a configured `host:port` / `[v6]:port` into its canonical string, or null. */
export function parseDestination(value: string): string | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  if (m === null) return null;
  const host = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined && ipv6(host) === null) return null; // brackets hold IPv6 only
  return destinationKey(host, Number(m[3]));
}
