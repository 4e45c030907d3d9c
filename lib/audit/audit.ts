/**
 * The audit: every fact the report shows, per stage and stack, and the
 * failures that make `npm run audit` exit non-zero. Pure functions of the
 * assembly contents (or of one template), so tests feed them templates.
 *
 * A stage fails when
 * - a finding of cdk-nag or the guard rules is not acknowledged (the validation report lists it),
 *   a check could not run, or no record says the checks ran on a stack;
 * - an acknowledgement has no reason;
 * - a data store is unencrypted;
 * - a path into the database is public (0.0.0.0/0 or ::/0 ingress, a publicly accessible instance);
 * - a secret has no rotation, or its value is written in the template;
 * - a cluster's master secret denies its value to no one (CI could act as the master user);
 * - a wildcard in an identity policy's Allow statement has no acknowledged reason;
 * - an RDS Proxy reads a secret rotated with alternating users (day 30: it has no credentials for the clone);
 * - a custom resource has no ServiceTimeout (a lost answer holds the deploy for an hour);
 * - a named resource is kept by a plain Retain (a failed first create leaves it, and the retry fails on its name);
 * - an alarm tells no one (no action, actions disabled, a rule without a target, a disabled subscription).
 * The report fails too when the database's isolation posture does (database.ts).
 */
import { alarmsNotifyingNoOne, findAlarms, type AlarmFacts } from './alarms';
import type { ComplianceRecord } from '../compliance/record';
import type { CloudAssemblyContents, StackArtifact, StageArtifact } from './assembly';
import { sortBy, type CfnTemplate } from './cfn';
import {
  complianceRecordOf,
  findAcknowledgements,
  findLibraryAcknowledgements,
  stageValidation,
  type Acknowledgement,
  type LibraryAcknowledgement,
  type StageValidation,
} from './compliance';
import { findDataStores, findEncryptionKeys, type DataStore, type Encryption, type EncryptionKey } from './data-stores';
import { unexplainedWildcards, findWildcardStatements, type WildcardStatement } from './iam';
import { findDatabaseNetwork, type DatabaseNetwork } from './network';
import {
  findDatabaseProtection,
  findImplicitLogGroups,
  findLogGroups,
  findParameters,
  findUserPools,
  type DatabaseProtection,
  type ImplicitLogGroup,
  type LogRetention,
  type ParameterFacts,
  type UserPoolProtection,
} from './data-protection';
import type { DatabaseAudit } from './database';
import { findSecrets, masterSecretsDeniedToNoOne, secretsWithoutRotation, type SecretFacts } from './secrets';
import {
  customResourcesWithoutTimeout,
  findDeployFacts,
  namedResourcesRetainedOnCreate,
  proxySecretsWithAlternatingUsers,
  type DeployFacts,
} from './deploys';

/** Format of report.json; changes when its shape does. */
export const REPORT_FORMAT = 'saas-data-tier-audit/1';

/** Everything the audit reads from one template. */
export interface TemplateAudit {
  readonly dataStores: DataStore[];
  readonly encryptionKeys: EncryptionKey[];
  readonly databases: DatabaseProtection[];
  readonly userPools: UserPoolProtection[];
  readonly network: DatabaseNetwork;
  readonly wildcardStatements: WildcardStatement[];
  readonly secrets: SecretFacts[];
  readonly logGroups: LogRetention[];
  readonly implicitLogGroups: ImplicitLogGroup[];
  readonly parameters: ParameterFacts[];
  readonly acknowledgements: Acknowledgement[];
  readonly deploys: DeployFacts;
  readonly alarms: AlarmFacts[];
}

/** One stack's audit. */
export interface StackAudit extends TemplateAudit {
  readonly stack: string;
  readonly stackName: string;
  readonly environment: string;
  readonly terminationProtection: boolean;
  /** Which checks ran on it; absent when the assembly does not say. */
  readonly complianceChecks?: ComplianceRecord;
  readonly libraryAcknowledgements: LibraryAcknowledgement[];
}

/** Why a stage fails the audit. */
export type FailureKind =
  | 'unacknowledged-finding'
  | 'compliance-check-error'
  | 'compliance-checks-missing'
  | 'acknowledgement-without-reason'
  | 'unencrypted-store'
  | 'public-database-path'
  | 'secret-without-rotation'
  | 'secret-value-in-template'
  | 'master-secret-denied-to-no-one'
  | 'unexplained-wildcard'
  | 'proxy-secret-alternating-users'
  | 'custom-resource-without-timeout'
  | 'named-resource-retained-on-create'
  | 'alarm-notifies-no-one';

/** One reason a stage fails. */
export interface Failure {
  readonly kind: FailureKind;
  /** Stack display name, where the failure concerns one. */
  readonly stack?: string;
  /** Logical id (or construct path) of the resource concerned. */
  readonly resource: string;
  readonly message: string;
}

/** Counts per stage, for the summary and for comparing releases at a glance. */
export interface StageSummary {
  readonly dataStores: number;
  readonly dataStoresByEncryption: Record<Encryption, number>;
  readonly encryptionKeys: number;
  readonly databaseIngressRules: number;
  readonly databaseIngressSources: string[];
  readonly publicDatabasePaths: number;
  readonly vpcEndpoints: number;
  readonly wildcardStatements: number;
  readonly wildcardStatementsNeedingReason: number;
  readonly secrets: number;
  readonly secretsRotated: number;
  readonly logGroups: number;
  readonly shortestLogRetentionDays?: number;
  readonly acknowledgements: number;
  readonly acknowledgementsByPack: Record<string, number>;
  readonly unacknowledgedFindings: number;
  readonly alarms: number;
  readonly failures: number;
}

/** One stage's audit. */
export interface StageAudit {
  readonly stage: string;
  readonly passed: boolean;
  readonly summary: StageSummary;
  readonly failures: Failure[];
  readonly validation: StageValidation;
  readonly stacks: StackAudit[];
}

/** The whole report. */
export interface AuditReport {
  readonly format: string;
  readonly passed: boolean;
  /** The database's isolation posture, the same for every stage (one set of migrations). */
  readonly database?: DatabaseAudit;
  readonly stages: StageAudit[];
}

/** Everything the audit reads from `template`. */
export function auditTemplate(template: CfnTemplate): TemplateAudit {
  const dataStores = findDataStores(template);
  const secrets = findSecrets(template);
  return {
    dataStores,
    encryptionKeys: findEncryptionKeys(template, dataStores),
    databases: findDatabaseProtection(template),
    userPools: findUserPools(template),
    network: findDatabaseNetwork(template),
    wildcardStatements: findWildcardStatements(template),
    secrets,
    logGroups: findLogGroups(template),
    implicitLogGroups: findImplicitLogGroups(template),
    parameters: findParameters(template),
    acknowledgements: findAcknowledgements(template),
    deploys: findDeployFacts(template, secrets),
    alarms: findAlarms(template),
  };
}

/** The failures `audit` of one template shows (`stack` names it in messages). */
export function templateFailures(audit: TemplateAudit, stack?: string): Failure[] {
  const failures: Failure[] = [];
  const fail = (kind: FailureKind, resource: string, message: string) =>
    failures.push({ kind, ...(stack ? { stack } : {}), resource, message });

  for (const store of audit.dataStores.filter((s) => s.encryption === 'none')) {
    fail('unencrypted-store', store.resource, `${store.kind} ${store.name ?? store.resource} (${store.type}) is not encrypted at rest`);
  }
  for (const group of audit.network.securityGroups) {
    for (const rule of group.ingress.filter((r) => r.public)) {
      fail(
        'public-database-path',
        rule.definedBy,
        `security group ${group.securityGroup} in front of ${group.protects.join(', ')} lets ${rule.source.value} in on ${rule.protocol} ${rule.ports}`,
      );
    }
  }
  for (const instance of audit.network.publiclyAccessible) {
    fail('public-database-path', instance.resource, `${instance.type} ${instance.resource} is publicly accessible`);
  }
  for (const secret of secretsWithoutRotation(audit.secrets)) {
    fail('secret-without-rotation', secret.resource, `secret ${secret.name ?? secret.resource} has no rotation schedule`);
  }
  for (const secret of masterSecretsDeniedToNoOne(audit.secrets)) {
    fail('master-secret-denied-to-no-one', secret.resource,
      `secret ${secret.name ?? secret.resource}, the master user's of ${secret.masterOf.join(', ')}, denies its value to no one: any role ` +
        'allowed secretsmanager:GetSecretValue (CI\'s among them) can act as the master user; deny it to the roles that must not ' +
        '(AuroraDatabase.denySecretValues)');
  }
  for (const secret of audit.secrets.filter((s) => s.value === 'literal')) {
    fail('secret-value-in-template', secret.resource, `secret ${secret.name ?? secret.resource} has its value written in the template`);
  }
  for (const statement of unexplainedWildcards(audit.wildcardStatements)) {
    const missing = statement.wildcards.filter((w) => !w.acknowledgedBy).map((w) => `${w.element} ${w.value}`);
    fail(
      'unexplained-wildcard',
      statement.policy,
      `statement ${statement.index} of ${statement.policy} allows ${missing.join(', ')} with no acknowledged reason (AwsSolutions-IAM5)`,
    );
  }
  for (const { proxy, secret, rotatedBy } of proxySecretsWithAlternatingUsers(audit.deploys)) {
    fail('proxy-secret-alternating-users', proxy,
      `RDS Proxy ${proxy} logs in with secret ${secret}, rotated by ${rotatedBy}: after the first rotation the secret names the clone user, ` +
        'and the proxy has no credentials for the user it was given (use IAM authentication end to end, or a single-user rotation)');
  }
  for (const custom of customResourcesWithoutTimeout(audit.deploys)) {
    fail('custom-resource-without-timeout', custom.resource,
      `${custom.type} ${custom.resource} has no ServiceTimeout: a lost answer holds the deploy for CloudFormation's hour`);
  }
  for (const kept of namedResourcesRetainedOnCreate(audit.deploys)) {
    fail('named-resource-retained-on-create', kept.resource,
      `${kept.type} ${kept.resource} named ${kept.name} is kept by a plain Retain: a failed first create leaves it behind, and the retry ` +
        'fails on "already exists" (use RETAIN_ON_UPDATE_OR_DELETE: DeletionPolicy RetainExceptOnCreate)');
  }
  for (const alarm of alarmsNotifyingNoOne(audit.alarms)) {
    fail('alarm-notifies-no-one', alarm.resource,
      `${alarm.kind === 'metric' ? 'alarm' : alarm.kind === 'event' ? 'rule' : 'RDS event subscription'} ${alarm.name ?? alarm.resource} tells no one: ` +
        'it has no action (or target), or its actions are disabled, so it would fire unseen');
  }
  for (const ack of audit.acknowledgements.filter((a) => a.reason.trim().length === 0)) {
    fail('acknowledgement-without-reason', ack.resource, `${ack.rule} is acknowledged on ${ack.resource} without a reason`);
  }
  return failures;
}

/** The audit of every stage of the assembly. */
export function auditAssembly(contents: CloudAssemblyContents, database?: DatabaseAudit): AuditReport {
  const stages = contents.stages.map((stage) => auditStage(stage, contents));
  return {
    format: REPORT_FORMAT,
    passed: stages.every((s) => s.passed) && (database?.passed ?? true),
    ...(database ? { database } : {}),
    stages,
  };
}

function auditStage(stage: StageArtifact, contents: CloudAssemblyContents): StageAudit {
  const stacks = sortBy(stage.stacks, (s) => [s.displayName]).map(auditStack);
  const validation = stageValidation(contents.validationReport, stage);
  const failures: Failure[] = stacks.flatMap((s) => templateFailures(s, s.stack));
  for (const stack of stacks.filter((s) => !s.complianceChecks)) {
    failures.push({
      kind: 'compliance-checks-missing',
      stack: stack.stack,
      resource: stack.stack,
      message: `the assembly does not record that cdk-nag and the guard rules ran on ${stack.stack}`,
    });
  }
  if (stacks.some((s) => s.complianceChecks) && !validation.reportPresent) {
    failures.push({
      kind: 'compliance-checks-missing',
      resource: 'validation-report.json',
      message: 'the assembly has no validation report: the checks recorded on the stacks did not report',
    });
  }
  for (const finding of validation.findings.filter((f) => f.severity !== 'info')) {
    failures.push({
      kind: 'unacknowledged-finding',
      resource: finding.resource,
      message: `${finding.rule}${finding.control ? ` [${finding.control}]` : ''} (${finding.plugin}) on ${finding.resource}: ${finding.description}`,
    });
  }
  for (const error of validation.pluginErrors) {
    failures.push({ kind: 'compliance-check-error', resource: error.split(':')[0], message: error });
  }
  const sorted = sortBy(failures, (f) => [f.kind, f.stack ?? '', f.resource, f.message]);
  return {
    stage: stage.name,
    passed: sorted.length === 0,
    summary: summarize(stacks, validation, sorted),
    failures: sorted,
    validation,
    stacks,
  };
}

function auditStack(stack: StackArtifact): StackAudit {
  const complianceChecks = complianceRecordOf(stack.metadata, stack.displayName);
  return {
    stack: stack.displayName,
    stackName: stack.stackName,
    environment: stack.environment,
    terminationProtection: stack.terminationProtection,
    ...(complianceChecks ? { complianceChecks } : {}),
    ...auditTemplate(stack.template),
    libraryAcknowledgements: findLibraryAcknowledgements(stack.metadata),
  };
}

function summarize(stacks: readonly StackAudit[], validation: StageValidation, failures: readonly Failure[]): StageSummary {
  const all = <T>(pick: (s: StackAudit) => readonly T[]) => stacks.flatMap(pick);
  const stores = all((s) => s.dataStores);
  const rules = all((s) => s.network.securityGroups.flatMap((g) => g.ingress));
  const retentions = all((s) => s.logGroups).map((g) => g.retentionDays ?? Infinity);
  const acknowledgements = all((s) => s.acknowledgements);
  const byPack: Record<string, number> = {};
  for (const a of acknowledgements) byPack[a.pack] = (byPack[a.pack] ?? 0) + 1;
  const statements = all((s) => s.wildcardStatements);
  const secrets = all((s) => s.secrets);
  const shortest = Math.min(...retentions);
  return {
    dataStores: stores.length,
    dataStoresByEncryption: {
      'customer-managed': stores.filter((s) => s.encryption === 'customer-managed').length,
      'aws-managed': stores.filter((s) => s.encryption === 'aws-managed').length,
      'aws-owned': stores.filter((s) => s.encryption === 'aws-owned').length,
      none: stores.filter((s) => s.encryption === 'none').length,
    },
    encryptionKeys: all((s) => s.encryptionKeys).length,
    databaseIngressRules: rules.length,
    databaseIngressSources: [...new Set(rules.map((r) => r.source.value))].sort(),
    publicDatabasePaths: failures.filter((f) => f.kind === 'public-database-path').length,
    vpcEndpoints: all((s) => s.network.endpoints).length,
    wildcardStatements: statements.length,
    wildcardStatementsNeedingReason: statements.filter((s) => s.kind === 'identity' && s.effect === 'Allow').length,
    secrets: secrets.length,
    secretsRotated: secrets.filter((s) => s.rotation && s.rotation.every !== 'no schedule').length,
    logGroups: retentions.length,
    ...(Number.isFinite(shortest) ? { shortestLogRetentionDays: shortest } : {}),
    acknowledgements: acknowledgements.length,
    acknowledgementsByPack: Object.fromEntries(Object.entries(byPack).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    unacknowledgedFindings: validation.findings.length,
    alarms: all((s) => s.alarms).length,
    failures: failures.length,
  };
}
