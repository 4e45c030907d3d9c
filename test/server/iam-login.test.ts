/**
 * The IAM login RDS Proxy connects as (end-to-end IAM authentication): the deploy creates it with no password and,
 * where the server has `rds_iam` (RDS and Aurora only), makes it a member; a password login is kept out of
 * `rds_iam`, since RDS refuses password authentication to its members. Both servers are covered: this one without
 * the role, then with a `rds_iam` made as on RDS (a NOLOGIN role the master user may grant).
 */
import { createDeployer, projectMigrations, type Deployer } from './support/deploy';
import { createServerDatabase, describeServer, loginName, withConnection, type ServerDatabase } from './support/server';

const ALL = projectMigrations();

describeServer('the IAM login of RDS Proxy, on a server with and without rds_iam', () => {
  let db: ServerDatabase;
  let deployer: Deployer;
  let iamLogin: string;
  let createdRdsIam = false;

  beforeAll(async () => {
    db = await createServerDatabase('empty');
    deployer = createDeployer(db);
    iamLogin = loginName('iam');
  });
  afterAll(async () => {
    deployer.restore();
    // The role is the server's, not the database's: drop it only when this file made it.
    if (createdRdsIam) await withConnection(db.adminUrl, (admin) => admin.query('DROP ROLE IF EXISTS rds_iam'));
    await db.drop();
  });

  const deploy = (requestType: 'create' | 'update') =>
    deployer.deploy(ALL, requestType, {}, { IamLogins: [{ Username: iamLogin, MemberOf: 'app_user' }] });

  /** What the catalog says of a role: can it log in, has it a password, which groups is it in. */
  const roleOf = (name: string) =>
    withConnection(db.adminUrl, async (admin) => (await admin.query<{ rolcanlogin: boolean; haspassword: boolean; groups: string[] }>(
      `SELECT a.rolcanlogin, a.rolpassword IS NOT NULL AS haspassword,
              ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = a.oid ORDER BY 1) AS groups
         FROM pg_authid a WHERE a.rolname = $1`, [name])).rows[0]);

  test('without rds_iam (any server but RDS): the login exists, in its group, with no password, and the deploy says why it cannot log in', async () => {
    const present = await withConnection(db.adminUrl, async (admin) => (await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'`)).rowCount);
    expect(present).toBe(0);
    await deploy('create');
    expect(await roleOf(iamLogin)).toEqual({ rolcanlogin: true, haspassword: false, groups: ['app_user'] });
    expect(deployer.logs.some((line) => line.includes('has no rds_iam role'))).toBe(true);
  });

  test('with rds_iam (as on RDS): the deploy grants it to the IAM login and keeps password logins out of it', async () => {
    await withConnection(db.adminUrl, async (admin) => {
      await admin.query('CREATE ROLE rds_iam NOLOGIN');
      createdRdsIam = true;
      // As on RDS, where the master user may grant rds_iam (PostgreSQL 16+ needs the ADMIN OPTION for that).
      await admin.query(`GRANT rds_iam TO ${decodeURIComponent(new URL(db.ownerUrl).username)} WITH ADMIN OPTION`);
      // A password login someone put into rds_iam by hand: RDS would refuse its password.
      await admin.query(`GRANT rds_iam TO ${deployer.sync.username}`);
    });
    await deploy('update');
    expect(await roleOf(iamLogin)).toEqual({ rolcanlogin: true, haspassword: false, groups: ['app_user', 'rds_iam'] });
    expect((await roleOf(deployer.sync.username)).groups).toEqual(['cognito_sync']);
    // Nothing left to do on the next deploy.
    const logged = deployer.logs.length;
    await deploy('update');
    expect(deployer.logs.slice(logged).filter((line) => line.includes('login role unchanged')).length).toBe(3);
  });
});
