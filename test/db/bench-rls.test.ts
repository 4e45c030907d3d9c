/**
 * `npm run bench` end to end at a tiny size on PGlite, the default engine (the checks: test/support/bench-rls.ts;
 * test/server/bench-rls.test.ts runs the same on a real server).
 */
import { runRlsBench, type RlsBenchReport } from '../../bench/rls/run';
import { describeTinyBenchReport, TINY } from '../support/bench-rls';

let report: RlsBenchReport;
beforeAll(async () => {
  report = await runRlsBench(TINY);
}, 300_000);

describeTinyBenchReport(() => report);

test('records the engine: PGlite, whose one session is a superuser', () => {
  expect(report.environment).toMatchObject({ engine: 'pglite', ownerIsSuperuser: true, pgvector: expect.stringMatching(/^0\.8\./) });
  expect(report.environment.serverVersion).toMatch(/^\d+\.\d+/);
  expect(report.options.server).toBeNull();
});
