// The Hugging Face reference fixtures, committed in test/fixtures/hf/ (see its README.md: made
// with transformers from random weights; about 1.6 MB). The parity tests always run: a missing
// fixture is a failure, never a skip.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/helpers/: the repo root is three folders up.
const ROOT = fileURLToPath(new URL('../../../test/fixtures/hf', import.meta.url));

/** A path inside test/fixtures/hf (throws when the file is missing). */
export function hfFixture(...parts: string[]): string {
  const p = path.join(ROOT, ...parts);
  if (!fs.existsSync(p)) throw new Error(`test fixture ${p} is missing; it is committed under test/fixtures/hf`);
  return p;
}
