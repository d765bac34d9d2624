// Unit tests: colocated src/**/*.spec.ts, pure logic and services with mocked repositories.
module.exports = {
  rootDir: 'src',
  testRegex: '.*\\.spec\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  testEnvironment: 'node',
  reporters: ['default', '<rootDir>/../test/support/totals-reporter.js'],
};
