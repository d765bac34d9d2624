/** API timestamps (SPEC §1): ISO 8601 UTC with milliseconds, null stays null. */
export function iso(d: Date): string;
export function iso(d: Date | null): string | null;
export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
