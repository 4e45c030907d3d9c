#!/usr/bin/env node
/**
 * `npm run db -- <command>`: starts the bundled database CLI
 * (dist/bin/db-cli.js, built from lib/db-cli/main.ts by `npm run build`)
 * from its V8 code cache. Runs from dist/ only.
 */
import { join } from 'node:path';
import { runBundle } from '../lib/db-cli/launch';

runBundle(join(__dirname, 'db-cli.js'));
