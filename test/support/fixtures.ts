/** Copies of the fixture migrations in a temporary directory, for tests that edit them. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', 'fixtures');

export interface FixtureCopy {
  readonly dir: string;
  readonly migrations: string;
  readonly seeds: string;
  /** Rewrites a file of the copy (path relative to the copy, e.g. `migrations/003_add_status.sql`). */
  edit(path: string, change: (text: string) => string): void;
  write(path: string, text: string): void;
  remove(path: string): void;
  cleanup(): void;
}

/** Copies `test/fixtures/<name>` (default `basic`) to a fresh temporary directory. */
export function copyFixture(name = 'basic'): FixtureCopy {
  const dir = mkdtempSync(join(tmpdir(), 'migrator-fixture-'));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return {
    dir,
    migrations: join(dir, 'migrations'),
    seeds: join(dir, 'seeds'),
    edit: (path, change) => writeFileSync(join(dir, path), change(readFileSync(join(dir, path), 'utf8'))),
    write: (path, text) => writeFileSync(join(dir, path), text),
    remove: (path) => rmSync(join(dir, path)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
