/**
 * CI access: the promotion's deploy role exists under the name the database's secrets deny their value to
 * (`<app>-<env>-ci-deploy`, inside their `…-ci-*` pattern), and its own policies let it do what the workflow
 * does and no more of the database's secrets: read the CI login's secret (the one published at
 * `…/database/ci-secret-arn`), call the Data API on the cluster, and read none of the secrets that deny CI.
 *
 * Asked of IAM's policy simulator for the role as it is in the account, not of the docs. The simulator evaluates
 * the role's own policies: the secrets' resource policies, which deny CI whatever it is allowed, are read from
 * the templates and named in the line, not simulated (the simulator takes a resource policy only for a caller
 * that is an IAM user).
 */
import { GetRoleCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { call } from '../aws';
import { type Check, type CheckContext, type CheckResult, fail, pass, skip } from '../check';
import { partitionOf, type SecretFact } from '../facts';

const NAME = 'ci access';
const CI_SECRET_PARAMETER = '/database/ci-secret-arn';
const DATA_API_ACTIONS = ['rds-data:ExecuteStatement', 'rds-data:BeginTransaction', 'rds-data:RollbackTransaction'];

export const ciAccess: Check = {
  name: NAME,
  async run(context: CheckContext): Promise<CheckResult> {
    const secrets = context.facts.secrets;
    const ciSecret = secrets.find((s) => s.publishedAs.some((name) => name.endsWith(CI_SECRET_PARAMETER)));
    const guarded = secrets.filter((s) => s.valueDeniedTo.length > 0);
    const rolePrefix = guarded.flatMap((s) => s.valueDeniedTo).map(ciRolePrefix).find((p) => p !== undefined);
    if (!ciSecret || !rolePrefix) {
      return skip(NAME, 'the stage has no CI login, or no secret denies CI its value', 'nothing to check');
    }
    const roleName = `${rolePrefix}deploy`;
    const { account, region } = context.target;
    const partition = partitionOf(region);
    try {
      await call('iam:GetRole', () => context.clients.iam.send(new GetRoleCommand({ RoleName: roleName })));
    } catch (error) {
      // The SDK names the error NoSuchEntityException; IAM's error code is NoSuchEntity.
      if (!['NoSuchEntityException', 'NoSuchEntity'].includes((error as { name?: string }).name ?? '')) throw error;
      return fail(NAME, `role ${roleName}: not found`,
        `create the deploy role under this name (docs/operations.md, First deploy, step 3): a role named otherwise is not denied the database's secrets`);
    }
    const roleArn = `arn:${partition}:iam::${account}:role/${roleName}`;
    // A secret's ARN ends in a suffix Secrets Manager picks; any six characters match the policies' `name-*`.
    const secretArn = (secret: SecretFact) => `arn:${partition}:secretsmanager:${region}:${account}:secret:${secret.name ?? secret.logicalId}-AbCdEf`;
    const allowed = async (actions: string[], resourceArn: string) => {
      const answer = await call('iam:SimulatePrincipalPolicy', () =>
        context.clients.iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: actions, ResourceArns: [resourceArn] })),
      );
      return actions.filter((action) => answer.EvaluationResults?.find((r) => r.EvalActionName === action)?.EvalDecision === 'allowed');
    };

    const problems: string[] = [];
    const ciName = ciSecret.name ?? ciSecret.logicalId;
    if ((await allowed(['secretsmanager:GetSecretValue'], secretArn(ciSecret))).length === 0) {
      problems.push(`it may not read ${ciName}: the drift and status steps could not log in`);
    }
    const readable: string[] = [];
    for (const secret of guarded) {
      if ((await allowed(['secretsmanager:GetSecretValue'], secretArn(secret))).length > 0) readable.push(secret.name ?? secret.logicalId);
    }
    if (readable.length > 0) {
      problems.push(`its policies allow reading ${readable.join(', ')} (only the secrets' Deny stops it): remove that grant`);
    }
    const cluster = context.facts.databaseClusters.find((c) => c.identifier !== undefined);
    if (cluster?.identifier) {
      const granted = await allowed(DATA_API_ACTIONS, `arn:${partition}:rds:${region}:${account}:cluster:${cluster.identifier}`);
      const missing = DATA_API_ACTIONS.filter((a) => !granted.includes(a));
      if (missing.length > 0) problems.push(`it may not call ${missing.join(', ')} on cluster ${cluster.identifier}`);
    }
    const facts = `role ${roleName}; reads ${ciName}; denied by resource policy ${guarded.map((s) => s.name ?? s.logicalId).join(', ')}`;
    return problems.length > 0 ? fail(NAME, facts, problems.join('; ')) : pass(NAME, `${facts}; Data API on ${cluster?.identifier ?? 'the cluster'}`);
  },
};

/** `saas-dev-ci-` of `arn:aws:iam::111122223333:role/saas-dev-ci-*`; undefined for the CDK bootstrap roles' patterns. */
function ciRolePrefix(pattern: string): string | undefined {
  const prefix = /:role\/([\w+=,.@-]+-ci-)\*$/.exec(pattern)?.[1];
  return prefix && !prefix.startsWith('cdk-') ? prefix : undefined;
}
