/** changedSections (what a SIGHUP reload changes) and configHash (the digest `config.loaded` carries). */
import { describe, expect, it } from 'vitest';
import { changedSections, configHash } from '../../src/config/compare.js';
import { buildConfig, type Config } from '../../src/config/load.js';

function build(raw: Record<string, unknown>, source = '/etc/gatehouse/gatehouse.yaml'): Config {
  return buildConfig({ brokerId: 'b1', ...raw }, { baseDir: '/etc/gatehouse', env: {}, source });
}

describe('changedSections', () => {
  it('names exactly the top-level sections that differ, sorted, and never `source`', () => {
    const a = build({ users: [{ name: 'alice', roles: ['responder'] }] });
    expect(changedSections(a, build({ users: [{ name: 'alice', roles: ['responder'] }] }, '/elsewhere.yaml'))).toEqual([]);
    const b = build({ users: [{ name: 'alice', roles: ['responder', 'approver'] }], recordings: { mode: 'best-effort' } });
    expect(changedSections(a, b)).toEqual(['recordings', 'users']);
  });
});

describe('configHash', () => {
  it('is the SHA-256 of the canonical JSON: the same config hashes alike, any change differs', () => {
    const a = build({ users: [{ name: 'alice', roles: ['responder'] }] });
    expect(configHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(build({ users: [{ roles: ['responder'], name: 'alice' }] }))).toBe(configHash(a));
    expect(configHash(build({ users: [{ name: 'alice', roles: ['approver'] }] }))).not.toBe(configHash(a));
  });
});
