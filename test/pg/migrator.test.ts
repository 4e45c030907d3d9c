/**
 * The runner's single-session behaviour on a real PostgreSQL server (the same
 * suite runs on PGlite in test/db/migrator.test.ts). Each test gets its own database.
 */
import { fromPgClient } from '../../lambda/migrator';
import { connect, createDatabase } from '../support/pg-database';
import { runnerBehaviour } from '../support/runner-behaviour';

describe('migration runner on a PostgreSQL server', () => {
  runnerBehaviour({
    async open() {
      const database = await createDatabase();
      const client = await connect(database.url);
      return {
        client: fromPgClient(client),
        async close() {
          await client.end().catch(() => {});
          await database.drop();
        },
      };
    },
  });
});
