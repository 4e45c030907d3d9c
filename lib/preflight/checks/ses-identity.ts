/**
 * SES identity: when a user pool sends its e-mail through SES (`EmailConfiguration.SourceArn`), the identity
 * must exist and be verified for sending, in the region the ARN names (which may differ from the stage's),
 * and cover the `From` address; Cognito refuses the pool otherwise. Pools on Cognito's default sender are
 * skipped.
 */
import { GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { call } from '../aws';
import { type Check, type CheckContext, type CheckResult, fail, pass, skip } from '../check';
import type { EmailSender } from '../facts';

const NAME = 'ses identity';

export const sesIdentity: Check = {
  name: NAME,
  async run(context: CheckContext): Promise<CheckResult | CheckResult[]> {
    const senders = context.facts.emailSenders;
    if (senders.length === 0) {
      return skip(NAME, 'no user pool names an SES identity', "the stage's user pools send with Cognito's default sender");
    }
    const results: CheckResult[] = [];
    for (const sender of senders) results.push(await checkSender(context, sender));
    return results;
  },
};

/** The parts of an SES identity ARN, `arn:aws:ses:eu-west-1:123456789012:identity/example.com`. */
export function parseIdentityArn(arn: string): { region: string; account: string; identity: string } | undefined {
  const match = /^arn:[^:]+:ses:([^:]+):(\d{12}):identity\/(.+)$/.exec(arn);
  return match ? { region: match[1], account: match[2], identity: match[3] } : undefined;
}

/** The address of a `From` value, `Example <no-reply@example.com>` or `no-reply@example.com`. */
export function fromAddress(from: string): string {
  return (/<([^>]+)>/.exec(from)?.[1] ?? from).trim().toLowerCase();
}

/** Whether sending as `address` is covered by `identity`: the same address, or a domain it belongs to (subdomains included). */
export function identityCovers(identity: string, address: string): boolean {
  const id = identity.toLowerCase();
  if (id.includes('@')) return id === address;
  const domain = address.split('@')[1] ?? '';
  return domain === id || domain.endsWith(`.${id}`);
}

async function checkSender(context: CheckContext, sender: EmailSender): Promise<CheckResult> {
  const where = `${sender.stack.displayName}/${sender.userPoolLogicalId}`;
  if (sender.sourceArn === undefined) {
    return skip(NAME, where, 'EmailConfiguration.SourceArn is computed from other resources or parameters and cannot be known before the deploy');
  }
  const arn = parseIdentityArn(sender.sourceArn);
  if (!arn) return fail(NAME, `${where}: SourceArn ${sender.sourceArn}`, 'not an SES identity ARN (arn:aws:ses:<region>:<account>:identity/<domain or address>)');
  const facts = `identity ${arn.identity} in ${arn.region}`;
  if (arn.account !== context.callerAccount) {
    return skip(NAME, `${facts} of account ${arn.account}`, `these credentials are for account ${context.callerAccount} and cannot read it; check it there (and its sending authorization policy)`);
  }
  const from = sender.from === undefined ? undefined : fromAddress(sender.from);
  if (from !== undefined && !identityCovers(arn.identity, from)) {
    return fail(NAME, `${facts}, From ${from}`, `the From address is not covered by the identity ${arn.identity}`);
  }
  let identity;
  try {
    identity = await call('ses:GetEmailIdentity', () =>
      context.clients.sesv2(arn.region).send(new GetEmailIdentityCommand({ EmailIdentity: arn.identity })),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'NotFoundException') throw error;
    return fail(NAME, `${facts}: not found`, `create and verify the identity in SES ${arn.region} (aws sesv2 create-email-identity --email-identity ${arn.identity} --region ${arn.region})`);
  }
  if (!identity.VerifiedForSendingStatus) {
    return fail(NAME, `${facts}: not verified for sending (status ${identity.VerificationStatus ?? 'unknown'})`, 'finish the verification (DKIM records for a domain, the link for an address) before deploying');
  }
  return pass(NAME, `${facts}: verified for sending${from ? `, covers From ${from}` : ''}`);
}
