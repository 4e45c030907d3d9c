/**
 * RDS Proxy for application traffic, and the security groups around it: IAM authentication end to end. Clients
 * present an IAM token for the application's login (`app_login`), and the
 * proxy logs in to the cluster as that login with an IAM token of its own:
 * no secret, so no password rotation can leave the proxy without credentials
 * (a proxy reading a secret rotated with alternating users finds
 * `app_login_clone` in it after the first rotation, and has none for
 * `app_login`: aws/aws-cdk#25568). TLS is required, and the proxy is
 * reachable only from the application client security group, which
 * applications put their compute in.
 */
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { IamLoginRole, IAuroraDatabase } from './aurora-database';
import { ManagedPolicyRole } from './managed-policy-role';

/** RDS Proxy listens on the engine's default port, whatever the cluster's port is. */
export const PROXY_PORT = 5432;

/** Properties of {@link ProxySecurityGroups}. */
export interface ProxySecurityGroupsProps {
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** The database the proxy fronts: PostgreSQL from the proxy's group is allowed into it. */
  readonly database: ec2.IConnectable & { readonly port: number };
}

/**
 * The proxy's security group and the application client group, with every rule between them and into the
 * database. They live beside the database (the stateful stack), so every path into the database is in one
 * template; the proxy itself takes them by id.
 */
export class ProxySecurityGroups extends Construct {
  /** Security group of the proxy: PostgreSQL in from the application client group only. */
  readonly securityGroup: ec2.SecurityGroup;
  /** Put application compute in this group to reach the proxy (and nothing else by default). */
  readonly applicationClientSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ProxySecurityGroupsProps) {
    super(scope, id);
    this.applicationClientSecurityGroup = new ec2.SecurityGroup(this, 'ApplicationClientSecurityGroup', {
      vpc: props.vpc,
      description: 'Application compute: PostgreSQL to the RDS Proxy',
      allowAllOutbound: false,
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'RDS Proxy: PostgreSQL from the application client group only',
      allowAllOutbound: false,
    });
    this.securityGroup.addIngressRule(this.applicationClientSecurityGroup, ec2.Port.tcp(PROXY_PORT), 'PostgreSQL from application compute');
    this.applicationClientSecurityGroup.addEgressRule(this.securityGroup, ec2.Port.tcp(PROXY_PORT), 'PostgreSQL to the RDS Proxy');
    props.database.connections.allowFrom(this.securityGroup, ec2.Port.tcp(props.database.port), 'PostgreSQL from the RDS Proxy to the Aurora cluster');
  }
}

/** Properties of an {@link ApplicationProxy}. */
export interface ApplicationProxyProps {
  /** Name of the proxy, `<app>-<env>`. */
  readonly proxyName: string;
  /** The database it fronts. */
  readonly database: IAuroraDatabase;
  /** Its security group (a {@link ProxySecurityGroups}' own), with the rules in and out already in place. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The IAM login the proxy connects as, and the only database user clients may ask for. */
  readonly login: IamLoginRole;
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the proxy. */
  readonly subnets: ec2.SubnetSelection;
  /**
   * Time a client connection may stay idle before the proxy closes it.
   * @default Duration.minutes(30)
   */
  readonly idleClientTimeout?: Duration;
  /**
   * Share of the cluster's max_connections the proxy may use, 1 to 100.
   * @default 90
   */
  readonly maxConnectionsPercent?: number;
}

/** RDS Proxy in front of the cluster for the application's login. */
export class ApplicationProxy extends Construct {
  /** The proxy. */
  readonly proxy: rds.DatabaseProxy;
  /** Security group of the proxy: PostgreSQL in from the application client group only. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The database user applications connect as. */
  readonly username: string;

  constructor(scope: Construct, id: string, props: ApplicationProxyProps) {
    super(scope, id);
    const { database, login } = props;
    const maxConnectionsPercent = props.maxConnectionsPercent ?? 90;
    if (!/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/.test(props.proxyName) || props.proxyName.endsWith('-') || props.proxyName.includes('--')) {
      throw new Error(`ApplicationProxy ${this.node.path}: proxyName must be 1-63 letters, digits and single hyphens, starting with a letter, got "${props.proxyName}"`);
    }
    if (!Number.isInteger(maxConnectionsPercent) || maxConnectionsPercent < 1 || maxConnectionsPercent > 100) {
      throw new Error(`ApplicationProxy ${this.node.path}: maxConnectionsPercent must be an integer from 1 to 100, got ${maxConnectionsPercent}`);
    }
    this.username = login.username;

    this.securityGroup = props.securityGroup;

    const role = new ManagedPolicyRole(this, 'Role', {
      description: 'Lets RDS Proxy log in to the cluster as the application login with IAM authentication',
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
    });
    // End to end: the proxy signs its own token for the login, on the cluster's database user.
    database.grantConnect(role, login);

    // The cluster as the proxy sees it: the same identifier and engine, and no security group, so binding the
    // target adds no rule: the one rule from the proxy into the cluster is ProxySecurityGroups', with the literal
    // port (a rule on the cluster's Endpoint.Port attribute is one no checker can read).
    const target = rds.DatabaseCluster.fromDatabaseClusterAttributes(this, 'Target', {
      clusterIdentifier: database.cluster.clusterIdentifier,
      engine: database.cluster.engine,
      port: database.port,
    });

    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      dbProxyName: props.proxyName,
      proxyTarget: rds.ProxyTarget.fromCluster(target),
      defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      role,
      requireTLS: true,
      idleClientTimeout: props.idleClientTimeout ?? Duration.minutes(30),
      maxConnectionsPercent,
      debugLogging: false,
    });
    // The target group registers the cluster's instances: they must exist first (a cluster imported from
    // the stateful stack exists before this stack deploys, and adds no dependency here).
    this.proxy.node.addDependency(database.cluster);
  }

  /** Lets `grantee` connect through the proxy as the application's login with an IAM token. */
  grantConnect(grantee: iam.IGrantable): iam.Grant {
    return this.proxy.grantConnect(grantee, this.username);
  }
}
