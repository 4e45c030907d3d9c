/**
 * Publishes values applications need (endpoints, ARNs, ids) as SSM
 * parameters under `/<app>/<env>/…` and as stack outputs. Applications read
 * the parameters at deploy or run time; nothing is exported, so no other stack
 * is coupled to this one by `Fn::ImportValue` and every value may change in a
 * later update.
 */
import { CfnOutput } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/** Properties of {@link ApplicationParameters}. */
export interface ApplicationParametersProps {
  /** Path prefix, `/<app>/<env>`. */
  readonly pathPrefix: string;
}

/** SSM parameters and stack outputs of one environment. */
export class ApplicationParameters extends Construct {
  private readonly pathPrefix: string;
  private readonly published = new Map<string, ssm.StringParameter>();

  constructor(scope: Construct, id: string, props: ApplicationParametersProps) {
    super(scope, id);
    if (!/^\/[a-z0-9-]+\/[a-z0-9-]+$/.test(props.pathPrefix)) {
      throw new Error(`ApplicationParameters ${this.node.path}: pathPrefix must look like /app/env, got "${props.pathPrefix}"`);
    }
    this.pathPrefix = props.pathPrefix;
  }

  /**
   * Publishes `value` as parameter `<prefix>/<name>` and as an output.
   * @param name path below the prefix, e.g. `database/proxy-endpoint`
   */
  publish(name: string, value: string, description: string): ssm.StringParameter {
    if (!/^[a-z0-9-]+(\/[a-z0-9-]+)*$/.test(name)) {
      throw new Error(`ApplicationParameters ${this.node.path}: parameter name must be lower-case path segments, got "${name}"`);
    }
    if (this.published.has(name)) {
      throw new Error(`ApplicationParameters ${this.node.path}: parameter ${name} is already published`);
    }
    const id = name.split(/[/-]/).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
    const parameter = new ssm.StringParameter(this, id, {
      parameterName: this.parameterName(name),
      stringValue: value,
      description,
      tier: ssm.ParameterTier.STANDARD,
    });
    new CfnOutput(this, `${id}Output`, { value, description: `${description} (${this.parameterName(name)})` });
    this.published.set(name, parameter);
    return parameter;
  }

  /** The full name of parameter `name`. */
  parameterName(name: string): string {
    return `${this.pathPrefix}/${name}`;
  }

  /** Names (below the prefix) of the parameters published so far. */
  get names(): string[] {
    return [...this.published.keys()];
  }
}
