// A node:test reporter that `npm test` runs beside the spec reporter: at the end, one line that
// names every reason tests were skipped and how many each (a missing Python module for the
// interop tests, no Chromium for the browser tests, no Gloo for data parallelism), so a skip is
// the exception the summary names, never a quiet default. Plain JS, loaded by node --test.
export default async function* skipSummary(source) {
  const reasons = new Map();
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' || !event.data.skip) continue;
    skipped++;
    const why = event.data.skip === true ? 'skipped without a reason' : String(event.data.skip);
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  }
  if (skipped === 0) {
    yield 'growbert tests: none skipped\n';
    return;
  }
  const list = [...reasons].map(([why, n]) => `${n} because ${why}`).join('; ');
  yield `growbert tests: ${skipped} skipped: ${list}\n`;
}
