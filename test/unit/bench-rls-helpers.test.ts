/**
 * The RLS benchmark's pure helpers: statistics, recall, the tenant plan and option parsing.
 */
import { BenchSetupError, checkLogins } from '../../bench/rls/database';
import { DEFAULT_OPTIONS, parseOptions, SERVER_OUT, usage } from '../../bench/rls/options';
import { median, percentile, ratio, ratioInterval, recallAtK, summarize } from '../../bench/stats';
import { organizationId, planTenants, splitEvenly, userId, type DatasetSize } from '../../bench/rls/tenants';
import { table } from '../../bench/rls/report';

describe('percentile (nearest rank)', () => {
  const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];

  test('p50 and p95 of ten samples', () => {
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 95)).toBe(10);
    expect(percentile(samples, 100)).toBe(10);
    expect(percentile(samples, 10)).toBe(1);
  });

  test('one sample is every percentile; none is NaN', () => {
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  test('does not reorder its input', () => {
    const copy = [...samples];
    percentile(samples, 50);
    expect(samples).toEqual(copy);
  });

  test('rejects percentiles outside (0, 100]', () => {
    expect(() => percentile(samples, 0)).toThrow(RangeError);
    expect(() => percentile(samples, 101)).toThrow(RangeError);
  });
});

describe('summarize and ratio', () => {
  test('summary of timings', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ n: 4, p50: 2, p95: 4, mean: 2.5, min: 1, max: 4 });
    expect(summarize([]).n).toBe(0);
    expect(summarize([]).p50).toBeNaN();
  });

  test('median: the middle sample, or halfway between the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  test('ratio is NaN rather than infinite when the baseline is not positive', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeNaN();
  });
});

describe('ratioInterval (bootstrap of p50(a) / p50(b))', () => {
  // Two noisy timing distributions, deterministic: b around 1.0, a around 1.2 (a 20 % overhead).
  const noisy = (centre: number, n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => centre * (1 + 0.1 * Math.sin(i * 12.9898 + seed) + (i % 17 === 0 ? 0.8 : 0)));
  const b = noisy(1.0, 300, 1);
  const a = noisy(1.2, 300, 2);

  test('brackets the ratio of the medians, and is repeatable for a seed', () => {
    const interval = ratioInterval(a, b);
    const point = ratio(percentile(a, 50), percentile(b, 50));
    expect(interval.low).toBeLessThanOrEqual(point);
    expect(interval.high).toBeGreaterThanOrEqual(point);
    expect(interval.low).toBeGreaterThan(1.1);
    expect(interval.high).toBeLessThan(1.3);
    expect(ratioInterval(a, b)).toEqual(interval);
    expect(ratioInterval(a, b, { seed: 7 })).not.toEqual(interval);
  });

  test('holds 1 for two samples of one distribution, and narrows with more samples', () => {
    const quick = { resamples: 500 };
    const same = ratioInterval(noisy(1, 300, 3), noisy(1, 300, 4), quick);
    expect(same.low).toBeLessThanOrEqual(1);
    expect(same.high).toBeGreaterThanOrEqual(1);
    const few = ratioInterval(noisy(1.2, 30, 2), noisy(1, 30, 1), quick);
    const many = ratioInterval(a, b, quick);
    expect(few.high - few.low).toBeGreaterThan(many.high - many.low);
  });

  test('a wider coverage gives a wider interval', () => {
    const i90 = ratioInterval(a, b, { confidence: 0.9, resamples: 500 });
    const i99 = ratioInterval(a, b, { confidence: 0.99, resamples: 500 });
    expect(i99.low).toBeLessThanOrEqual(i90.low);
    expect(i99.high).toBeGreaterThanOrEqual(i90.high);
  });

  test('NaN without samples; bad options are refused', () => {
    expect(ratioInterval([], b).low).toBeNaN();
    expect(ratioInterval(a, []).high).toBeNaN();
    expect(() => ratioInterval(a, b, { confidence: 1 })).toThrow(RangeError);
    expect(() => ratioInterval(a, b, { resamples: 0 })).toThrow(RangeError);
  });
});

describe('recallAtK', () => {
  const truth = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

  test('share of the exact top-k found among the first k returned, in any order', () => {
    expect(recallAtK([...truth].reverse(), truth, 10)).toBe(1);
    expect(recallAtK(['a', 'b', 'x', 'y', 'c'], truth, 10)).toBe(0.3);
    expect(recallAtK([], truth, 10)).toBe(0);
  });

  test('only the first k of both lists count', () => {
    expect(recallAtK(['x', 'a', 'b'], truth, 2)).toBe(0.5);
    expect(recallAtK(['b', 'a', 'z'], ['a', 'b', 'c'], 2)).toBe(1);
  });

  test('a tenant with fewer than k rows: the truth is shorter, and nothing to find is full recall', () => {
    expect(recallAtK(['a', 'b', 'x'], ['a', 'b', 'c'], 10)).toBeCloseTo(2 / 3);
    expect(recallAtK([], [], 10)).toBe(1);
  });

  test('duplicates in the answer do not count twice', () => {
    expect(recallAtK(['a', 'a', 'a'], ['a', 'b'], 10)).toBe(0.5);
  });

  test('rejects a k that is not a positive integer', () => {
    expect(() => recallAtK(['a'], ['a'], 0)).toThrow(RangeError);
    expect(() => recallAtK(['a'], ['a'], 1.5)).toThrow(RangeError);
  });
});

describe('planTenants', () => {
  const size: DatasetSize = { ...DEFAULT_OPTIONS.size };

  test('splitEvenly hands the remainder to the first parts', () => {
    expect(splitEvenly(10, 3)).toEqual([4, 3, 3]);
    expect(splitEvenly(2, 4)).toEqual([1, 1, 0, 0]);
    expect(splitEvenly(5, 0)).toEqual([]);
  });

  test('the default data set: probe tenants hold 10 %, 1 % and 0.1 %, the rest share evenly, totals add up', () => {
    const plan = planTenants(size);
    expect(plan).toHaveLength(1000);
    expect(plan.slice(0, 3).map((t) => [t.tasks, t.results])).toEqual([[20_000, 2000], [2000, 200], [200, 20]]);
    expect(plan.slice(0, 3).map((t) => t.share)).toEqual([0.1, 0.01, 0.001]);
    const total = (field: 'tasks' | 'results' | 'auditLogs' | 'users') => plan.reduce((sum, t) => sum + t[field], 0);
    expect([total('tasks'), total('results'), total('auditLogs'), total('users')]).toEqual([200_000, 20_000, 100_000, 20_000]);
    expect(plan.every((t) => t.results <= t.tasks && t.users >= 1)).toBe(true);
    expect(plan[3].tasks).toBe(Math.ceil((200_000 - 22_200) / 997));
  });

  test('a tiny data set still gives every probe tenant something to find', () => {
    const plan = planTenants({ ...size, organizations: 5, users: 5, tasks: 40, results: 10, auditLogs: 0 });
    expect(plan.slice(0, 3).map((t) => t.results)).toEqual([1, 1, 1]);
    expect(plan.reduce((sum, t) => sum + t.results, 0)).toBe(10);
  });

  test('bad sizes fail with the field named', () => {
    expect(() => planTenants({ ...size, users: 10 })).toThrow(/users must be at least organizations/);
    expect(() => planTenants({ ...size, results: 300_000 })).toThrow(/results \(300000\) must not exceed tasks/);
    expect(() => planTenants({ ...size, organizations: 3 })).toThrow(/organizations must be at least 4/);
    expect(() => planTenants({ ...size, tasks: -1 })).toThrow(/tasks must be a non-negative integer/);
    expect(() => planTenants({ ...size, probeShares: [0.6, 0.5] })).toThrow(/probeShares/);
  });

  test('ids are deterministic UUIDs', () => {
    expect(organizationId(1)).toBe('b0000000-0000-4000-8000-000000000001');
    expect(userId(255)).toBe('b1000000-0000-4000-8000-0000000000ff');
  });
});

describe('parseOptions', () => {
  test('defaults, environment, then flags (both spellings)', () => {
    expect(parseOptions([], {})).toEqual(DEFAULT_OPTIONS);
    const options = parseOptions(['--tasks', '2000', '--results=300', '--out', '-'], { BENCH_TASKS: '999', BENCH_ORGS: '20', BENCH_ITERATIONS: '7' });
    expect(options).toMatchObject({ iterations: 7, out: null, size: { organizations: 20, tasks: 2000, results: 300 } });
  });

  test('does not change the defaults it starts from', () => {
    parseOptions(['--tasks', '5'], {});
    expect(DEFAULT_OPTIONS.size.tasks).toBe(200_000);
  });

  test('--help', () => {
    expect(parseOptions(['--help'])).toBe('help');
    expect(usage()).toMatch(/--knn-queries .*BENCH_KNN_QUERIES/);
  });

  test('bad values and unknown options fail with the option named', () => {
    expect(() => parseOptions(['--tasks', 'many'])).toThrow(/--tasks must be an integer/);
    expect(() => parseOptions(['--iterations', '0'])).toThrow(/--iterations must be an integer of at least 1/);
    expect(() => parseOptions([], { BENCH_SEED: '2' })).toThrow(/--seed must be a number in \[-1, 1\]/);
    expect(() => parseOptions(['--tasks'])).toThrow(/--tasks needs a value/);
    expect(() => parseOptions(['--fast'])).toThrow(/unknown option "--fast"/);
  });
});

describe('parseOptions: the server to run on', () => {
  const owner = 'postgres://owner:secret@db.example:5432/app';
  const admin = 'postgres://admin:secret@db.example:5432/app';

  test('without flags, PGlite and bench/results/rls.json', () => {
    expect(parseOptions([], {})).toMatchObject({ server: null, out: 'bench/results/rls.json' });
  });

  test('--database-url with --admin-url: a server run, written to its own file unless --out says otherwise', () => {
    expect(parseOptions(['--database-url', owner, '--admin-url', admin])).toMatchObject({
      server: { databaseUrl: owner, adminUrl: admin, keepDatabase: false },
      out: SERVER_OUT,
    });
    expect(parseOptions(['--database-url', owner, '--admin-url', admin, '--out', '-'])).toMatchObject({ out: null });
    expect(parseOptions(['--out=x.json'], { BENCH_DATABASE_URL: owner, BENCH_ADMIN_URL: admin })).toMatchObject({ out: 'x.json', server: { databaseUrl: owner } });
  });

  test('--keep-database is a switch, for server runs only', () => {
    expect(parseOptions(['--database-url', owner, '--admin-url', admin, '--keep-database'])).toMatchObject({ server: { keepDatabase: true } });
    expect(parseOptions(['--database-url', owner, '--admin-url', admin], { BENCH_KEEP_DATABASE: '1' })).toMatchObject({ server: { keepDatabase: true } });
    expect(() => parseOptions(['--keep-database'])).toThrow(/--keep-database applies to a server run/);
    expect(() => parseOptions(['--database-url', owner, '--admin-url', admin, '--keep-database=no'])).toThrow(/--keep-database takes no value/);
  });

  test('one URL without the other, or something that is not a postgres URL, fails with the flag named', () => {
    expect(() => parseOptions(['--database-url', owner])).toThrow(/--database-url needs --admin-url/);
    expect(() => parseOptions(['--admin-url', admin])).toThrow(/--admin-url needs --database-url/);
    expect(() => parseOptions(['--database-url', 'db.example', '--admin-url', admin])).toThrow(/--database-url must be a postgres:\/\/ URL/);
    expect(() => parseOptions(['--database-url', owner, '--admin-url', 'mysql://x@y/z'])).toThrow(/--admin-url must be a postgres:\/\/ URL/);
    expect(usage()).toMatch(/--database-url .*BENCH_DATABASE_URL/);
  });
});

describe('checkLogins', () => {
  const role = (name: string, superuser: boolean, more: { bypassRls?: boolean; createDb?: boolean } = {}) =>
    ({ name, superuser, bypassRls: more.bypassRls ?? superuser, createDb: more.createDb ?? true });

  test('an owner like the Aurora master and a superuser admin pass', () => {
    expect(() => checkLogins(role('saas_owner', false), role('saas_admin', true))).not.toThrow();
  });

  test('a superuser or BYPASSRLS owner is refused, naming --database-url', () => {
    expect(() => checkLogins(role('saas_admin', true), role('saas_admin', true))).toThrow(/^--database-url logs in as saas_admin, a superuser/);
    expect(() => checkLogins(role('bypass', false, { bypassRls: true }), role('saas_admin', true))).toThrow(/^--database-url logs in as bypass, a BYPASSRLS role/);
    expect(() => checkLogins(role('saas_admin', true), role('saas_admin', true))).toThrow(BenchSetupError);
  });

  test('an owner without CREATEDB, or an admin that is no superuser, is refused with the flag named', () => {
    expect(() => checkLogins(role('owner', false, { createDb: false }), role('saas_admin', true))).toThrow(/^--database-url .* lacks CREATEDB/);
    expect(() => checkLogins(role('saas_owner', false), role('saas_owner', false))).toThrow(/^--admin-url logs in as saas_owner, which is not a superuser/);
  });
});

describe('table', () => {
  test('aligns columns, numbers to the right', () => {
    expect(table(['name', 'ms'], [['a', '1.5'], ['longer', '12.25']]).split('\n')).toEqual([
      'name       ms',
      '------  -----',
      'a         1.5',
      'longer  12.25',
    ]);
  });
});
