/**
 * The runner's single-session behaviour on PGlite, the embedded database
 * (the same suite runs on a real server in test/pg/migrator.test.ts).
 */
import { fromPglite } from '../../lambda/migrator';
import { runnerBehaviour } from '../support/runner-behaviour';

describe('migration runner on PGlite', () => {
  // initdb once; each test starts from a copy of the fresh cluster (much faster than initdb per test).
  let fresh: Blob | undefined;

  runnerBehaviour({
    async open() {
      const { PGlite } = await import('@electric-sql/pglite');
      if (!fresh) {
        const template = await PGlite.create();
        fresh = await template.dumpDataDir('none');
        await template.close();
      }
      const db = await PGlite.create({ loadDataDir: fresh });
      return { client: fromPglite(db), close: () => db.close() };
    },
  });
});
