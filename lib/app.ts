/**
 * Builds the CDK app: one Stage per environment, from validated config, with
 * the compliance checks on. `bin/app.ts` calls it; tests call it too.
 */
import { App, type AppProps } from 'aws-cdk-lib';
import { addComplianceChecks } from './compliance';
import { ENVIRONMENT_NAMES, loadEnvironmentConfig, type EnvironmentName } from './config';
import { EnvironmentStage, STAGE_IDS } from './environment-stage';

const FAIL_SYNTH_ON_VALIDATION_ERRORS = '@aws-cdk/core:failSynthOnValidationErrors';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * Props of the App (context, outdir).
   * @default - none: the CLI supplies them
   */
  readonly appProps?: AppProps;
  /**
   * Environments to build. The CLI can narrow them with `-c environments=dev,prod`.
   * @default - context `environments`, else all of them
   */
  readonly environments?: readonly string[];
}

/** The app and its stages. */
export interface BuiltApp {
  readonly app: App;
  readonly stages: Partial<Record<EnvironmentName, EnvironmentStage>>;
}

/**
 * Creates the app with a Stage per requested environment.
 * @throws ConfigError when an environment is unknown or its configuration invalid
 */
export function buildApp(options: BuildAppOptions = {}): BuiltApp {
  const app = new App(options.appProps);
  // The CLI leaves failing validation to its own report, which it filters to
  // the stacks named on its command line: a bare `cdk synth` names none of the
  // stage stacks and would pass with findings. The app fails synth itself.
  app.node.setContext(FAIL_SYNTH_ON_VALIDATION_ERRORS, true);
  const fromContext = app.node.tryGetContext('environments') as string | undefined;
  const requested = options.environments ?? (fromContext ? fromContext.split(',').map((s) => s.trim()) : ENVIRONMENT_NAMES);
  const stages: Partial<Record<EnvironmentName, EnvironmentStage>> = {};
  for (const name of requested) {
    const config = loadEnvironmentConfig(name); // throws for an unknown name, naming it
    stages[config.name] = new EnvironmentStage(app, STAGE_IDS[config.name], { config });
  }
  addComplianceChecks(app);
  return { app, stages };
}
