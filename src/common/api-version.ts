/** The event envelope's `api_version` (SPEC §6.1). */
export const API_VERSION_DATE = '2026-04-23';
