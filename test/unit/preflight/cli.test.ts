/**
 * `npm run preflight` as an operator meets it when it cannot run: one line on stderr and exit status 2, no
 * stack trace. No credentials are reachable here (an empty home, no profile files, no instance metadata),
 * so nothing is sent to AWS.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function preflight(...args: string[]) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-home-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')));
  const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/preflight.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...env,
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  fs.rmSync(home, { recursive: true, force: true });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

test('no credentials: one clear line, exit 2', () => {
  const { status, stdout, stderr } = preflight('--stage', 'dev');
  expect(status).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe(
    'preflight: no usable AWS credentials (CredentialsProviderError: Could not load credentials from any providers): set AWS_PROFILE, or sign in (aws sso login), and run again',
  );
});

test('an unknown stage names the known ones, a missing --stage the usage', () => {
  expect(preflight('--stage', 'qa')).toMatchObject({ status: 2, stderr: 'preflight: unknown stage "qa": expected one of dev, staging, prod' });
  const missing = preflight();
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/^preflight: --stage is required\nusage: npm run preflight -- --stage <dev\|staging\|prod>/);
});
