/**
 * The compliance checks fail synth: a finding of cdk-nag or of the Control
 * Tower guard rules, in any stage, stops it with the rule and the resource
 * named; acknowledgements need a real reason.
 */
import { App, RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acknowledge, addComplianceChecks } from '../../lib/compliance';
import { synthesize } from './synth';

function synthError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return String((error as Error).message);
  }
  throw new Error('expected synth to fail');
}

function smallApp(): App {
  return new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-bad-')) });
}

describe('compliance checks', () => {
  it('fail synth on a nag finding, naming pack, rule and resource', () => {
    const app = smallApp();
    const stage = new Stage(app, 'Bad', { env: { region: 'eu-west-1' } });
    const stack = new Stack(stage, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const sg = new ec2.SecurityGroup(stack, 'OpenDatabase', { vpc, description: 'deliberately open' });
    sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(5432), 'PostgreSQL from anywhere');
    addComplianceChecks(app);
    const message = synthError(() => app.synth());
    expect(message).toContain('AwsSolutions-EC23');
    expect(message).toContain('Bad/Stack/OpenDatabase/Resource');
    expect(message).toContain('AwsSolutions-VPC7'); // no flow log
    expect(message).toContain('NIST.800.53.R5-VPCFlowLogsEnabled');
    expect(message).toContain('HIPAA.Security-VPCDefaultSecurityGroupClosed');
  });

  it('fail synth on a Control Tower guard finding that every nag pack lets through', () => {
    const app = smallApp();
    const stage = new Stage(app, 'Bad', { env: { region: 'eu-west-1' } });
    const stack = new Stack(stage, 'Stack');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
    acknowledge(key, 'AwsSolutions-KMS5', 'This test key rotates; the acknowledgement is never exercised by the packs.');
    // Encrypted with a retention: nag is content; Control Tower wants a year at least.
    new logs.LogGroup(stack, 'ShortLived', { encryptionKey: key, retention: logs.RetentionDays.ONE_MONTH });
    addComplianceChecks(app);
    const message = synthError(() => app.synth());
    expect(message).toMatch(/ct-cloudwatch-pr-2|CT\.CLOUDWATCH\.PR\.2/);
    expect(message).toContain('ShortLived');
    // The key has no grant-limiting statement: CT.KMS.PR.3.
    expect(message).toMatch(/ct-kms-pr-3|CT\.KMS\.PR\.3/);
    expect(message).not.toMatch(/AwsSolutions-|HIPAA\.Security-|NIST\.800\.53\.R5-/);
  });

  it('run on every stage of the real app: a finding planted in each is reported with its stage', () => {
    const message = synthError(() =>
      synthesize(['dev', 'staging', 'prod'], ({ stages }) => {
        for (const stage of Object.values(stages)) {
          const stack = stage!.dataStore;
          new logs.LogGroup(stack, 'Planted', { encryptionKey: stack.encryptionKey, retention: logs.RetentionDays.ONE_WEEK });
          new logs.LogGroup(stage!.dataTier, 'Planted', { retention: logs.RetentionDays.ONE_WEEK });
        }
      }),
    );
    for (const stage of ['Dev', 'Staging', 'Prod']) {
      expect(message).toContain(`${stage}/DataStore/Planted`);
      expect(message).toContain(`${stage}/DataTier/Planted`);
    }
    expect(message).toMatch(/CT\.CLOUDWATCH\.PR\.2|ct-cloudwatch-pr-2/);
  });

  it('refuse an acknowledgement without a sentence of reason, or with a malformed rule id', () => {
    const stack = new Stack();
    const group = new logs.LogGroup(stack, 'Group', { retention: logs.RetentionDays.ONE_YEAR });
    expect(() => acknowledge(group, 'AwsSolutions-IAM5', 'ok')).toThrow(/needs a reason of at least one sentence/);
    expect(() => acknowledge(group, 'AwsSolutions-IAM5', 'lower case start is not a sentence.')).toThrow(/at least one sentence/);
    expect(() => acknowledge(group, 'IAM5', 'A proper sentence that explains the reason.')).toThrow(/is not a rule id/);
    expect(() => acknowledge(group, 'AwsSolutions-IAM5[Resource::*]', 'A proper sentence that explains the reason.')).not.toThrow();
  });
});
