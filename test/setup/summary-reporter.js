// Prints one plain closing line, "jest: N passed, N failed[, N skipped]", that any CI log reader understands,
// and before it one line on the real-server tier (test/server): how many of its tests ran, or were skipped and why.
const SERVER_DIR = /[\\/]test[\\/]server[\\/]/;

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const server = results.testResults.filter((file) => SERVER_DIR.test(file.testFilePath));
    const count = (key) => server.reduce((sum, file) => sum + file[key], 0);
    const ran = count('numPassingTests') + count('numFailingTests');
    const skipped = count('numPendingTests') + count('numTodoTests');
    if (skipped > 0 && ran === 0 && !process.env.TEST_DATABASE_URL) {
      process.stdout.write(
        `\nserver tier: ${skipped} test${skipped === 1 ? '' : 's'} skipped: set TEST_DATABASE_URL (a NOSUPERUSER CREATEROLE CREATEDB owner) and ` +
          'TEST_ADMIN_URL (a superuser, for set-up) to run them; ../shared/tools/pgvector-server prints both\n',
      );
    } else if (ran > 0) {
      process.stdout.write(`\nserver tier: ${ran} tests ran (${count('numPassingTests')} passed, ${count('numFailingTests')} failed) on ${process.env.TEST_DATABASE_URL.replace(/^.*@/, '').replace(/\/.*$/, '')}\n`);
    }
    const totalSkipped = results.numPendingTests + results.numTodoTests;
    const line = `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed${totalSkipped ? `, ${totalSkipped} skipped` : ''}`;
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
