/**
 * The deploy's `ALTER EXTENSION vector UPDATE` against the real catalog. This server offers one version of
 * `vector` (pg_available_extension_versions lists only the installed one), so an older installed version cannot be
 * set up here: what runs on the server is the decision, read from the catalog, that there is nothing to update;
 * the ordering of versions is tested in test/unit/vector-extension.test.ts.
 */
import { readExtensionVersions } from '../../lambda/migrate-handler/extensions';
import { createDeployer, projectMigrations, type Deployer } from './support/deploy';
import { createServerDatabase, describeServer, withConnection, type ServerDatabase } from './support/server';

describeServer('updating vector on deploy, on a real server', () => {
  let db: ServerDatabase;
  let deployer: Deployer;
  beforeAll(async () => {
    db = await createServerDatabase('empty');
    deployer = createDeployer(db);
  });
  afterAll(async () => {
    deployer.restore();
    await db.drop();
  });

  test('reads the installed and the offered version from the catalog, and updates nothing when they are the same', async () => {
    const response = await deployer.deploy(projectMigrations(), 'create');
    const versions = await withConnection(db.ownerUrl, (owner) => readExtensionVersions(owner, 'vector'));
    const offered = await withConnection(db.ownerUrl, async (owner) =>
      (await owner.query<{ version: string }>(`SELECT version FROM pg_available_extension_versions WHERE name = 'vector'`)).rows.map((r) => r.version));
    expect(versions).toEqual({ installed: offered[offered.length - 1], available: offered[offered.length - 1] });
    expect(deployer.statements.some((s) => /^\s*ALTER EXTENSION/i.test(s.text))).toBe(false);
    expect(response.Data.VectorUpdatedTo).toBeUndefined();
    expect(await withConnection(db.ownerUrl, (owner) => readExtensionVersions(owner, 'no_such_extension'))).toBeUndefined();
  });
});
