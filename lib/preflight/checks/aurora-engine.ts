/**
 * Aurora engine: can a new cluster of the template's engine version be created in the region, with the
 * template's instance classes and Serverless v2 capacity range?
 *
 * `DescribeDBEngineVersions` with `IncludeAll` also lists versions that exist but are no longer offered for
 * new clusters (status `deprecated`, e.g. a minor past standard support), which the first deploy would be
 * refused; its `ServerlessV2FeaturesSupport` gives the capacity range the version allows (0 ACU, automatic
 * pause, needs a recent minor). `DescribeOrderableDBInstanceOptions` tells whether `db.serverless` (or any
 * provisioned class) is orderable for that version in the region.
 */
import { DescribeDBEngineVersionsCommand, DescribeOrderableDBInstanceOptionsCommand } from '@aws-sdk/client-rds';
import { call } from '../aws';
import { type Check, type CheckContext, type CheckResult, fail, pass, skip } from '../check';
import type { DatabaseCluster } from '../facts';

const NAME = 'aurora engine';

export const auroraEngine: Check = {
  name: NAME,
  async run(context: CheckContext): Promise<CheckResult | CheckResult[]> {
    const clusters = context.facts.databaseClusters;
    if (clusters.length === 0) return skip(NAME, 'no AWS::RDS::DBCluster in the stage', 'nothing to check');
    const results: CheckResult[] = [];
    for (const cluster of clusters) results.push(await checkCluster(context, cluster));
    return results;
  },
};

async function checkCluster(context: CheckContext, cluster: DatabaseCluster): Promise<CheckResult> {
  const { region } = context.target;
  const { engine, engineVersion } = cluster;
  const where = `${cluster.stack.displayName}/${cluster.logicalId}`;
  if (!engine || !engineVersion) {
    return skip(NAME, where, `the template ${engine ? 'pins no engine version (RDS picks its default)' : 'names no engine that can be read offline'}`);
  }
  const facts = `${engine} ${engineVersion} in ${region}`;
  const versions = await call('rds:DescribeDBEngineVersions', () =>
    context.clients.rds.send(new DescribeDBEngineVersionsCommand({ Engine: engine, EngineVersion: engineVersion, IncludeAll: true })),
  );
  const version = versions.DBEngineVersions?.find((v) => v.EngineVersion === engineVersion);
  if (!version) {
    return fail(NAME, `${facts}: not offered`, `pick a version the region offers (aws rds describe-db-engine-versions --engine ${engine} --region ${region})`);
  }
  if (version.Status !== 'available') {
    return fail(NAME, `${facts}: status ${version.Status ?? 'unknown'}`, 'new clusters are refused on this version; pin a newer minor');
  }

  const problems: string[] = [];
  const notes: string[] = [];
  const support = version.ServerlessV2FeaturesSupport;
  if (cluster.minCapacity !== undefined || cluster.maxCapacity !== undefined) {
    const range = `capacity ${cluster.minCapacity ?? '?'}-${cluster.maxCapacity ?? '?'} ACU`;
    if (support?.MinCapacity !== undefined && cluster.minCapacity !== undefined && cluster.minCapacity < support.MinCapacity) {
      problems.push(`${range}: this version's minimum is ${support.MinCapacity} ACU`);
    } else if (support?.MaxCapacity !== undefined && cluster.maxCapacity !== undefined && cluster.maxCapacity > support.MaxCapacity) {
      problems.push(`${range}: this version's maximum is ${support.MaxCapacity} ACU`);
    } else {
      notes.push(support ? `${range} within ${support.MinCapacity ?? '?'}-${support.MaxCapacity ?? '?'}` : range);
    }
  }
  for (const instanceClass of cluster.instanceClasses) {
    const options = await call('rds:DescribeOrderableDBInstanceOptions', () =>
      context.clients.rds.send(
        new DescribeOrderableDBInstanceOptionsCommand({ Engine: engine, EngineVersion: engineVersion, DBInstanceClass: instanceClass, MaxRecords: 20 }),
      ),
    );
    if ((options.OrderableDBInstanceOptions ?? []).length === 0) problems.push(`${instanceClass} not orderable`);
    else notes.push(`${instanceClass} orderable`);
  }
  if (problems.length > 0) return fail(NAME, `${facts}: available, ${[...notes, ...problems].join(', ')}`, problems.join('; '));
  return pass(NAME, [`${facts}: available`, ...notes].join(', '));
}
