/** Organization features (SPEC §3.1): product areas an organization must have enabled, set by the CLI or AuthService. */
export const FEATURES = ['single_contact_api'] as const;
export type Feature = (typeof FEATURES)[number];

export function isFeature(value: string): value is Feature {
  return (FEATURES as readonly string[]).includes(value);
}
