/**
 * CSV injection guard for result files opened in a spreadsheet: a cell starting with `=`, `+`, `-`, `@` (or a
 * tab / carriage return, which some spreadsheets strip before evaluating) is prefixed with a single quote so it
 * is shown as text, never evaluated as a formula (OWASP "CSV Injection").
 * `phone_e164` values start with `+` and are escaped too: the files must be safe first, pretty second.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function spreadsheetSafe(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return FORMULA_START.test(s) ? `'${s}` : s;
}
