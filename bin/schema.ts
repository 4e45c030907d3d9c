#!/usr/bin/env node
/**
 * `npm run schema`: writes schema.sql, the schema the migrations leave behind (lib/schema/generate.ts). Run it
 * after adding or changing a migration and commit the result; a test checks that it matches.
 */
import { writeFileSync } from 'node:fs';
import { generateSchema, SCHEMA_FILE } from '../lib/schema/generate';

generateSchema().then(
  (text) => {
    writeFileSync(SCHEMA_FILE, text);
    console.log(`wrote ${SCHEMA_FILE} (${text.split('\n').length - 1} lines)`);
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
