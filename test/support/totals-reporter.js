// Appends "passed failed" for the run to $JEST_TOTALS_FILE so .ci/run can print one total over every run.
const { appendFileSync } = require('node:fs');

class TotalsReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.JEST_TOTALS_FILE;
    if (!file) return;
    // A suite that fails to load counts as one failure: it ran no tests but must not look green.
    const broken = results.numRuntimeErrorTestSuites || 0;
    appendFileSync(file, `${results.numPassedTests} ${results.numFailedTests + broken}\n`);
  }
}

module.exports = TotalsReporter;
