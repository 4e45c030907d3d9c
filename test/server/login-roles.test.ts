/** The login sync's cases (test/support/login-sync-cases.ts) on the real server, as the Aurora-like owner. */
import { describeLoginSync } from '../support/login-sync-cases';
import { createServerDatabase, describeServer, loginName, type ServerDatabase } from './support/server';

describeServer('login sync as the Aurora-like owner', () => {
  let db: ServerDatabase;
  beforeAll(async () => {
    db = await createServerDatabase('migrated');
  });
  afterAll(() => db.drop());

  describeLoginSync(() => ({ ownerUrl: db.ownerUrl, adminUrl: db.adminUrl, loginName }));
});
