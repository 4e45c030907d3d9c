/**
 * The least-privilege policy in docs/operations.md lists exactly the actions the preflight calls: read from
 * the code (every SDK command it sends, and the action each `call` names for the command it wraps), so a
 * new call without a documented permission, or a documented permission nothing uses, fails here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PREFLIGHT = path.join(ROOT, 'lib', 'preflight');

/** IAM service prefix of each SDK client package. */
const SERVICE_PREFIX: Record<string, string> = {
  'client-sts': 'sts',
  'client-lambda': 'lambda',
  'client-cognito-identity-provider': 'cognito-idp',
  'client-rds': 'rds',
  'client-cloudformation': 'cloudformation',
  'client-ssm': 'ssm',
  'client-sesv2': 'ses',
  'client-iam': 'iam',
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** What the code does: the action of every command it sends, and the actions its `call`s name. */
function actionsInCode(): { sent: Set<string>; named: Set<string>; mismatches: string[] } {
  const sent = new Set<string>();
  const named = new Set<string>();
  const mismatches: string[] = [];
  for (const file of sourceFiles(PREFLIGHT)) {
    const text = fs.readFileSync(file, 'utf8');
    const actionOf = new Map<string, string>();
    for (const [, names, pkg] of text.matchAll(/import\s*\{([^}]+)\}\s*from\s*'@aws-sdk\/(client-[\w-]+)'/g)) {
      const prefix = SERVICE_PREFIX[pkg];
      if (!prefix) throw new Error(`${file} imports @aws-sdk/${pkg}, which this test does not map to an IAM service prefix`);
      for (const name of names.split(',').map((n) => n.replace(/^type\s+/, '').trim())) {
        if (name.endsWith('Command')) actionOf.set(name, `${prefix}:${name.slice(0, -'Command'.length)}`);
      }
    }
    for (const [, command] of text.matchAll(/new (\w+Command)\(/g)) {
      const action = actionOf.get(command);
      if (!action) throw new Error(`${file} sends ${command}, not imported from an @aws-sdk client`);
      sent.add(action);
    }
    for (const [, action, command] of text.matchAll(/call\(\s*'([^']+)',[^;]*?new (\w+Command)\(/gs)) {
      named.add(action);
      if (actionOf.get(command) !== action) mismatches.push(`${path.relative(ROOT, file)}: call('${action}') sends ${command}`);
    }
  }
  return { sent, named, mismatches };
}

/** The actions of the policy in the preflight section of docs/operations.md. */
function documentedActions(): Set<string> {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Before the first deploy: preflight'));
  if (!section) throw new Error('docs/operations.md has no section "Before the first deploy: preflight"');
  const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  if (!json) throw new Error('the preflight section has no ```json policy');
  const policy = JSON.parse(json) as { Statement: { Effect: string; Action: string | string[] }[] };
  expect(policy.Statement.every((s) => s.Effect === 'Allow')).toBe(true);
  return new Set(policy.Statement.flatMap((s) => [s.Action].flat()));
}

test('the documented policy lists exactly the actions the preflight calls', () => {
  const { sent, named } = actionsInCode();
  expect(sent.size).toBeGreaterThanOrEqual(10);
  expect([...named].sort()).toEqual([...sent].sort());
  expect([...documentedActions()].sort()).toEqual([...sent].sort());
});

test('every call names the action of the command it sends', () => {
  expect(actionsInCode().mismatches).toEqual([]);
});

test('only read actions: Get, Describe, List, and the policy simulator (which evaluates, and changes nothing)', () => {
  for (const action of documentedActions()) expect(action).toMatch(/^([\w-]+:(Get|Describe|List)\w+|iam:SimulatePrincipalPolicy)$/);
});
