/**
 * End-to-end suites: the real AppModule over HTTP, a real database per suite (SQLite file by default,
 * a fresh PostgreSQL database per suite when TEST_DATABASE_URL is set), real local receivers.
 * The Swagger plugin runs here too so the OpenAPI document under test matches the built one.
 */
module.exports = {
  rootDir: '..',
  testRegex: 'test/e2e/.*\\.e2e-spec\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        isolatedModules: false,
        diagnostics: false,
        astTransformers: { before: ['<rootDir>/test/support/swagger-transformer.js'] },
      },
    ],
  },
  testEnvironment: 'node',
  reporters: ['default', '<rootDir>/test/support/totals-reporter.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
