import { describe, expect, it } from 'vitest';
import type { InstanceInfo, SsmApi } from '../../../src/connectors/ssm/api.js';
import { planDocument } from '../../../src/connectors/ssm/connector.js';
import { checkInventory } from '../../../src/connectors/ssm/inventory.js';
import { GatehouseError, isGatehouseError } from '../../../src/domain/errors.js';
import type { SsmTargetSpec } from '../../../src/domain/types.js';

interface FakeInstance extends InstanceInfo {
  tags: Record<string, string>;
}

function fakeApi(instances: FakeInstance[], opts: { legacyUnknown?: boolean } = {}): SsmApi & { calls: Array<Record<string, string> | undefined> } {
  const calls: Array<Record<string, string> | undefined> = [];
  const fail = (): never => { throw new Error('not used'); };
  return {
    calls,
    startSession: fail,
    resumeSession: fail,
    terminateSession: fail,
    async describeInstance(id, tags) {
      calls.push(tags === undefined ? undefined : { ...tags });
      const found = instances.filter((i) => i.instanceId === id && Object.entries(tags ?? {}).every(([k, v]) => i.tags[k] === v));
      if (found.length === 0 && opts.legacyUnknown === true && !instances.some((i) => i.instanceId === id)) {
        throw new GatehouseError('GH_ERR_SSM', 'InvalidInstanceId', { awsError: 'InvalidInstanceId' });
      }
      return found;
    },
  };
}

const WEB: FakeInstance = { instanceId: 'i-1', pingStatus: 'Online', platformType: 'Linux', platformName: 'Ubuntu', platformVersion: '24.04', agentVersion: '3', tags: { env: 'prod', tier: 'web' } };
const spec = (s: Partial<SsmTargetSpec> = {}): SsmTargetSpec => ({ instanceId: 'i-1', region: 'us-east-1', ...s });

async function refusal(p: Promise<unknown>): Promise<GatehouseError> {
  const err = await p.then(() => null, (e: unknown) => e);
  if (!isGatehouseError(err, 'GH_ERR_INVENTORY')) throw new Error(`expected GH_ERR_INVENTORY, got ${String(err)}`);
  return err;
}

describe('inventory check', () => {
  it('passes with one call when everything matches (platform by type or name, case-insensitive)', async () => {
    const api = fakeApi([WEB]);
    await expect(checkInventory(api, spec({ expect: { platform: 'ubuntu', tags: { env: 'prod' } } }))).resolves.toMatchObject({ instanceId: 'i-1' });
    expect(api.calls).toEqual([{ env: 'prod' }]);
    await expect(checkInventory(api, spec({ expect: { platform: 'Linux' } }))).resolves.toBeDefined();
  });

  it('refuses an unknown instance, whether listed as empty or answered InvalidInstanceId', async () => {
    expect((await refusal(checkInventory(fakeApi([]), spec()))).message).toMatch(/i-1 \(us-east-1\).*unknown instance/);
    expect((await refusal(checkInventory(fakeApi([], { legacyUnknown: true }), spec()))).details).toMatchObject({ reason: 'unknown' });
  });

  it('names every mismatch at once: status, platform, and exactly the tags that differ', async () => {
    const api = fakeApi([{ ...WEB, pingStatus: 'ConnectionLost' }]);
    const err = await refusal(checkInventory(api, spec({ expect: { platform: 'Windows', tags: { env: 'staging', tier: 'web', team: 'sre' } } })));
    expect(err.message).toBe(
      'SSM instance i-1 (us-east-1) does not match the inventory: instance is ConnectionLost, not Online; ' +
        'platform is Linux (Ubuntu), expected Windows; tags do not match: env=staging, team=sre',
    );
    expect(err.details).toMatchObject({ mismatchedTags: ['env=staging', 'team=sre'], pingStatus: 'ConnectionLost' });
  });

  it('passes API failures through as GH_ERR_SSM, not as an inventory verdict', async () => {
    const api = fakeApi([WEB]);
    api.describeInstance = () => Promise.reject(new GatehouseError('GH_ERR_SSM', 'AccessDeniedException', { awsError: 'AccessDeniedException' }));
    await expect(checkInventory(api, spec())).rejects.toMatchObject({ code: 'GH_ERR_SSM' });
  });
});

describe('document choice', () => {
  it('shell by default, the target\'s document otherwise, a command document for exec', () => {
    expect(planDocument(spec(), undefined)).toEqual({ documentName: 'SSM-SessionManagerRunShell', parameters: undefined });
    expect(planDocument(spec(), 'uptime')).toEqual({ documentName: 'AWS-StartInteractiveCommand', parameters: { command: ['uptime'] } });
    expect(planDocument(spec({ document: 'AWS-StartNonInteractiveCommand' }), 'uptime').documentName).toBe('AWS-StartNonInteractiveCommand');
    expect(planDocument(spec({ document: 'Custom-Shell' }), undefined).documentName).toBe('Custom-Shell');
    expect(planDocument({ ...spec({ document: 'AWS-StartInteractiveCommand' }), parameters: { command: ['top'] } }, undefined)).toEqual({
      documentName: 'AWS-StartInteractiveCommand', parameters: { command: ['top'] },
    });
    expect(() => planDocument(spec({ document: 'AWS-StartInteractiveCommand' }), undefined)).toThrow(/needs a command/);
  });
});
