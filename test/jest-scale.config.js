// Scale-out proof (SPEC §9): several service processes on one PostgreSQL. Run by .ci/run against the
// PostgreSQL it starts (TEST_DATABASE_URL); `npm run test:scale` locally.
const base = require('./jest-e2e.config.js');

module.exports = { ...base, testRegex: 'test/scale/.*\\.e2e-spec\\.ts$', testTimeout: 600000, maxWorkers: 1 };
