/**
 * An IAM role whose permissions live in customer-managed policies only.
 *
 * The L2 `grant*` methods put statements in an inline `DefaultPolicy`
 * (AWS::IAM::Policy), which the HIPAA Security and NIST 800-53 R5 packs refuse
 * (IAMNoInlinePolicy: inline policies cannot be reviewed, versioned or reused
 * on their own). This role sends every statement, including those of grants
 * made by other constructs, to a customer-managed policy created on the first
 * statement, so no construct needs to know about the rule.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Properties of a {@link ManagedPolicyRole}. */
export interface ManagedPolicyRoleProps extends iam.RoleProps {
  /**
   * Description of the customer-managed policy that receives the role's statements.
   * @default - "Permissions of <role path>"
   */
  readonly policyDescription?: string;
}

/** A role that keeps its own permissions in one customer-managed policy. */
export class ManagedPolicyRole extends iam.Role {
  private ownPolicy?: iam.ManagedPolicy;
  private readonly policyDescription?: string;

  constructor(scope: Construct, id: string, props: ManagedPolicyRoleProps) {
    const { policyDescription, ...roleProps } = props;
    super(scope, id, roleProps);
    this.policyDescription = policyDescription;
  }

  /** The customer-managed policy holding the role's statements, once it has one. */
  get permissionsPolicy(): iam.ManagedPolicy | undefined {
    return this.ownPolicy;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    if (!this.ownPolicy) {
      this.ownPolicy = new iam.ManagedPolicy(this, 'Permissions', {
        description: this.policyDescription ?? `Permissions of ${this.node.path}`,
        // Attached from the policy's side (its Roles list), not the role's
        // ManagedPolicyArns, so a statement naming the role itself (iam:PassRole)
        // makes no dependency cycle. The policy is a child of the role, so
        // whatever depends on the role also waits for its permissions.
        roles: [this],
      });
    }
    this.ownPolicy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.ownPolicy };
  }
}
