/**
 * Cognito domain: is each prefix domain of the stage free in the region, or already the stage's own?
 *
 * Prefix domains (`<prefix>.auth.<region>.amazoncognito.com`) are global per region: whoever takes one first
 * breaks every other deploy that wants it. `DescribeUserPoolDomain` tells who holds a prefix. Held by the
 * user pool the deployed stage has under the same logical id (in whichever of its stacks), it is a re-deploy and passes; held by anyone
 * else (another stack, another account, a pool made by hand), or held while the stack does not exist, the
 * deploy would fail. Custom domains are a different matter (certificate and DNS) and are skipped.
 */
import { DescribeUserPoolDomainCommand, type DomainDescriptionType } from '@aws-sdk/client-cognito-identity-provider';
import { call } from '../aws';
import { type Check, type CheckContext, type CheckResult, fail, pass, skip } from '../check';
import type { UserPoolDomain } from '../facts';

const NAME = 'cognito domain';

export const cognitoDomain: Check = {
  name: NAME,
  async run(context: CheckContext): Promise<CheckResult | CheckResult[]> {
    const domains = context.facts.userPoolDomains;
    if (domains.length === 0) return skip(NAME, 'no AWS::Cognito::UserPoolDomain in the stage', 'nothing to check');
    const results: CheckResult[] = [];
    for (const domain of domains) results.push(await checkDomain(context, domain));
    return results;
  },
};

async function checkDomain(context: CheckContext, domain: UserPoolDomain): Promise<CheckResult> {
  const where = `${domain.stack.displayName}/${domain.logicalId}`;
  if (domain.domain === undefined) {
    return skip(NAME, where, 'the domain is computed from other resources or parameters and cannot be known before the deploy');
  }
  if (domain.custom) {
    return skip(NAME, `${domain.domain} (${where})`, 'a custom domain, not a Cognito prefix: its certificate and DNS are not checked here');
  }
  const facts = `prefix "${domain.domain}" in ${context.target.region}`;
  const description = await describeDomain(context, domain.domain);
  // A free prefix comes back as an empty description; anything in it means someone holds the prefix.
  if (!description || !(description.UserPoolId || description.AWSAccountId || description.Domain || description.Status)) {
    return pass(NAME, `${facts}, free`);
  }
  const holder = description.UserPoolId;

  const pool = domain.userPool;
  const ownPool = pool ? (await context.deployed.physicalIds(pool.stack.stackName)).get(pool.logicalId) : undefined;
  if (holder && ownPool === holder) return pass(NAME, `${facts}, held by this stage's user pool ${holder} (a re-deploy)`);

  const holderAccount = description.AWSAccountId;
  const by =
    holderAccount && holderAccount !== context.target.account
      ? `another AWS account (${holderAccount})`
      : !holder
        ? 'a user pool these credentials cannot see'
        : `user pool ${holder}${ownPool ? `, not this stage's pool ${ownPool}` : ` while stack ${(pool?.stack ?? domain.stack).stackName} has no user pool deployed`}`;
  return fail(NAME, `${facts}, taken by ${by}`, 'choose another prefix for this stage (prefixes are unique per region across all accounts)');
}

/** The description of a prefix; undefined when Cognito answers that no such domain exists. */
async function describeDomain(context: CheckContext, prefix: string): Promise<DomainDescriptionType | undefined> {
  try {
    const out = await call('cognito-idp:DescribeUserPoolDomain', () =>
      context.clients.cognito.send(new DescribeUserPoolDomainCommand({ Domain: prefix })),
    );
    return out.DomainDescription;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}
