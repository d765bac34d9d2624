// Robustness suite (issue 9): hostile input, receiver faults, kill -9 soak, security checks. Bounded counts so a
// file finishes in ≤ 3 minutes and the folder in ≤ 8 on a 2-core machine; `npm run test:robustness` locally, with
// TEST_DATABASE_URL for PostgreSQL. Files run one at a time: several of them spawn service processes.
const base = require('./jest-e2e.config.js');

module.exports = { ...base, testRegex: 'test/robustness/.*\\.e2e-spec\\.ts$', testTimeout: 300000, maxWorkers: 1 };
