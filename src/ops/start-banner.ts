import { AppConfig } from '../config/app-config';

/** Where the service is and what it runs on, said once at start: a block for a terminal, fields for a log pipeline. */
export function startBanner(config: AppConfig): { message: string; fields: Record<string, string>; block: string } {
  const database = config.databaseType === 'postgres' ? `PostgreSQL (${redactedDatabaseUrl(config.databaseUrl)})` : `SQLite at ${config.sqlitePath}`;
  const fields = { api: `${config.publicBaseUrl}/api/v1`, swagger_ui: `${config.publicBaseUrl}/docs`, panel: `${config.publicBaseUrl}/panel`, database };
  const rows: Array<[string, string]> = [
    ['API', fields.api],
    ['Swagger UI', fields.swagger_ui],
    ['Panel', fields.panel],
    ['Database', database],
    ['Environment', config.nodeEnv],
  ];
  const block = ['', '  OptimalDial API is listening', ...rows.map(([k, v]) => `    ${k.padEnd(12)} ${v}`), ''].join('\n');
  return { message: `OptimalDial API listening on ${config.publicBaseUrl} (${database}); Swagger UI at ${fields.swagger_ui}; developer panel at ${fields.panel}`, fields, block };
}

/** Host and database only, never the user or password: the banner is printed where anyone watching the terminal reads it. */
function redactedDatabaseUrl(raw: string | null): string {
  if (!raw) return '';
  try {
    const u = new URL(raw);
    return `${u.host}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}
