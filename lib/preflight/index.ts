/**
 * `npm run preflight -- --stage <name>`: read-only AWS calls that predict whether the first (or next) deploy of
 * a stage will fail, before CloudFormation finds out half-way. See docs/operations.md, "Before the first
 * deploy: preflight".
 */
export { readStageStacks, synthesizeStage, UnknownStageError, type StageStack } from './assembly';
export { AccessDeniedError, createClients, CredentialsError, type PreflightClients } from './aws';
export { formatResult, type Check, type CheckResult, type CheckStatus } from './check';
export { stageFacts, type StageFacts } from './facts';
export { CHECKS, preflight, type PreflightOptions, type PreflightReport } from './run';
