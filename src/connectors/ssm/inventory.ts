/**
 * The inventory integrity check run before every SSM session: the instance must be registered with
 * Systems Manager, Online, and match the target's expected platform and tags. Any mismatch refuses
 * the session with GH_ERR_INVENTORY naming every fact that did not match.
 *
 * Tags: DescribeInstanceInformation returns no tags, but accepts `tag:<key>` filters (for EC2
 * instances and hybrid managed nodes alike). One call carries the id filter and every tag filter;
 * only when it comes back empty do we ask again, once without tags and once per tag, to say which
 * tag failed. The value a mismatched tag does have is not reported: reading it would need
 * ec2:DescribeTags or ListTagsForResource (managed nodes only), an extra permission for a message.
 */
import { GatehouseError } from '../../domain/errors.js';
import type { SsmTargetSpec } from '../../domain/types.js';
import { awsErrorName, type InstanceInfo, type SsmApi } from './api.js';

function inventoryError(spec: SsmTargetSpec, problems: readonly string[], extra: Record<string, unknown> = {}): GatehouseError {
  return new GatehouseError(
    'GH_ERR_INVENTORY',
    `SSM instance ${spec.instanceId} (${spec.region}) does not match the inventory: ${problems.join('; ')}`,
    { instanceId: spec.instanceId, region: spec.region, problems, ...extra },
  );
}

async function describe(api: SsmApi, spec: SsmTargetSpec, tags: Readonly<Record<string, string>> | undefined, signal?: AbortSignal): Promise<InstanceInfo | undefined> {
  try {
    return (await api.describeInstance(spec.instanceId, tags, signal))[0];
  } catch (err) {
    // The legacy filter list answers an unknown id with InvalidInstanceId rather than an empty list.
    if (awsErrorName(err) === 'InvalidInstanceId') return undefined;
    throw err;
  }
}

function platformMatches(expected: string, info: InstanceInfo): boolean {
  const want = expected.trim().toLowerCase();
  return want === info.platformType.toLowerCase() || want === info.platformName.toLowerCase();
}

/**
 * Resolves with the instance's facts when everything matches; rejects with GH_ERR_INVENTORY when
 * anything does not, and with GH_ERR_SSM when the API itself failed.
 */
export async function checkInventory(api: SsmApi, spec: SsmTargetSpec, signal?: AbortSignal): Promise<InstanceInfo> {
  const tags = spec.expect?.tags ?? {};
  const tagKeys = Object.keys(tags);
  let info = await describe(api, spec, tagKeys.length > 0 ? tags : undefined, signal);
  const mismatchedTags: string[] = [];
  if (info === undefined && tagKeys.length > 0) {
    info = await describe(api, spec, undefined, signal);
    if (info !== undefined) {
      const probes = await Promise.all(tagKeys.map((key) => describe(api, spec, { [key]: tags[key] ?? '' }, signal)));
      probes.forEach((probe, i) => {
        const key = tagKeys[i] ?? '';
        if (probe === undefined) mismatchedTags.push(`${key}=${tags[key] ?? ''}`);
      });
      // Every tag matched alone but not together: the filters disagree with each other; say so.
      if (mismatchedTags.length === 0) mismatchedTags.push(...tagKeys.map((k) => `${k}=${tags[k] ?? ''}`));
    }
  }
  if (info === undefined) {
    throw inventoryError(spec, ['unknown instance: DescribeInstanceInformation does not list it (not a managed node, or no permission)'], { reason: 'unknown' });
  }
  const problems: string[] = [];
  if (info.pingStatus !== 'Online') problems.push(`instance is ${info.pingStatus || 'not reporting'}, not Online`);
  const platform = spec.expect?.platform;
  if (platform !== undefined && !platformMatches(platform, info)) {
    problems.push(`platform is ${info.platformType || '?'} (${info.platformName || '?'}), expected ${platform}`);
  }
  if (mismatchedTags.length > 0) problems.push(`tags do not match: ${mismatchedTags.join(', ')}`);
  if (problems.length > 0) {
    throw inventoryError(spec, problems, { pingStatus: info.pingStatus, platformType: info.platformType, platformName: info.platformName, mismatchedTags });
  }
  return info;
}
