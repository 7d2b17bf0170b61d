// Differential conformance between util-linux nsenter (Debian's 2.38.1, /usr/bin/nsenter) and
// nsctl, on its own (scripts/conformance runs this): every case of the table in
// conformance-cases.mjs, then the generated command lines unless --table is given, one line each,
// `ok` or `FAIL` with what was wanted and what nsctl gave.
// The last line printed is always "N passed, N failed".
import { CASES, caseName, generatedLines, generatedName, startBench } from './conformance-cases.mjs';

const tableOnly = process.argv.includes('--table');
let passed = 0;
let failed = 0;

function report(name, { ok, want, got }) {
  if (ok) {
    passed++;
    console.log(`ok    ${name}`);
    return;
  }
  failed++;
  console.log(`FAIL  ${name}`);
  console.log(`      want ${JSON.stringify(want)}`);
  console.log(`      got  ${JSON.stringify(got)}`);
}

let bench;
try {
  bench = startBench();
} catch (error) {
  console.log(`conformance: ${error.message}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}

for (const c of CASES) {
  const outcome = bench.runCase(c);
  report(caseName(c, outcome.args), outcome);
}
if (!tableOnly) {
  for (const raw of generatedLines()) {
    const outcome = bench.runGenerated(raw);
    report(generatedName(outcome.args), outcome);
  }
}

bench.stop();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
