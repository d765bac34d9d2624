import 'reflect-metadata';
import { ConsoleLogger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { presentApiKey, presentOrganization, presentUser } from './auth/auth.presenters';
import { AuthModule } from './auth/auth.module';
import { AuthInputError, AuthService } from './auth/auth.service';
import { SubscriptionStatus } from './auth/organization.entity';
import { UserRole } from './auth/user.entity';
import { ConfigError, loadConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';

/**
 * Admin CLI (SPEC §3.2): `npm run -s cli -- <command> [--flag value]`. Works on the database the service uses
 * (same environment). Prints exactly one JSON object on stdout; everything else goes to stderr.
 */
const USAGE = `Usage: npm run -s cli -- <command> [options]
  org:create --name <name> --owner-email <email> [--credits N] [--subscription active|inactive] [--daily-row-limit N]
  org:subscription --org <id> --status active|inactive
  org:features --org <id> [--enable a,b] [--disable c]   (features: single_contact_api)
  credits:add --org <id> --amount N
  user:add --org <id> --email <email> [--role owner|member]
  user:remove --id <user id>
  key:create --org <id> --user <id> [--name <name>] [--scopes a,b] [--expires-at <ISO 8601>]
  key:list --org <id>
  key:revoke --id <key id>`;

class UsageError extends Error {}

class StderrLogger extends ConsoleLogger {
  protected override printMessages(messages: unknown[], context?: string, logLevel?: Parameters<ConsoleLogger['printMessages']>[2]): void {
    super.printMessages(messages, context, logLevel, 'stderr');
  }
}

export function parseArgs(argv: string[]): { command: string; flags: Record<string, string> } {
  const [command, ...rest] = argv;
  if (!command || command.startsWith('-')) throw new UsageError('missing command');
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(rest[i]);
    if (!m) throw new UsageError(`unexpected argument "${rest[i]}"`);
    const value = m[2] ?? rest[++i];
    if (value === undefined || (m[2] === undefined && value.startsWith('--'))) throw new UsageError(`--${m[1]} needs a value`);
    flags[m[1]] = value;
  }
  return { command, flags };
}

function need(flags: Record<string, string>, name: string): string {
  const v = flags[name];
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function int(flags: Record<string, string>, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer`);
  return Number(v);
}

function allowOnly(flags: Record<string, string>, allowed: string[]): void {
  for (const k of Object.keys(flags)) if (!allowed.includes(k)) throw new UsageError(`unknown option --${k}`);
}

async function run(auth: AuthService, command: string, flags: Record<string, string>): Promise<object> {
  switch (command) {
    case 'org:create': {
      allowOnly(flags, ['name', 'owner-email', 'credits', 'subscription', 'daily-row-limit']);
      const r = await auth.createOrganization({
        name: need(flags, 'name'),
        ownerEmail: need(flags, 'owner-email'),
        credits: int(flags, 'credits'),
        subscription: flags.subscription as SubscriptionStatus | undefined,
        dailyRowLimit: int(flags, 'daily-row-limit') ?? null,
      });
      return { organization: presentOrganization(r.organization), user: presentUser(r.user), api_key: r.apiKey, key: presentApiKey(r.key) };
    }
    case 'org:subscription':
      allowOnly(flags, ['org', 'status']);
      return { organization: presentOrganization(await auth.setSubscription(need(flags, 'org'), need(flags, 'status') as SubscriptionStatus)) };
    case 'org:features': {
      allowOnly(flags, ['org', 'enable', 'disable']);
      const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
      if (flags.enable === undefined && flags.disable === undefined) throw new UsageError('--enable or --disable is required');
      return { organization: presentOrganization(await auth.setFeatures(need(flags, 'org'), { enable: list(flags.enable), disable: list(flags.disable) })) };
    }
    case 'credits:add':
      allowOnly(flags, ['org', 'amount']);
      return { organization: presentOrganization(await auth.addCredits(need(flags, 'org'), int(flags, 'amount') ?? Number(need(flags, 'amount')))) };
    case 'user:add':
      allowOnly(flags, ['org', 'email', 'role']);
      return { user: presentUser(await auth.addUser(need(flags, 'org'), need(flags, 'email'), (flags.role ?? 'member') as UserRole)) };
    case 'user:remove': {
      allowOnly(flags, ['id']);
      const r = await auth.removeUser(need(flags, 'id'));
      return { user: presentUser(r.user), revoked_keys: r.revokedKeys };
    }
    case 'key:create': {
      allowOnly(flags, ['org', 'user', 'name', 'scopes', 'expires-at']);
      let expiresAt: Date | null = null;
      if (flags['expires-at']) {
        expiresAt = new Date(flags['expires-at']);
        if (Number.isNaN(expiresAt.getTime())) throw new UsageError('--expires-at must be an ISO 8601 timestamp');
      }
      const r = await auth.mintKey({
        organizationId: need(flags, 'org'),
        userId: need(flags, 'user'),
        name: flags.name,
        scopes: flags.scopes?.split(',').map((s) => s.trim()).filter(Boolean),
        expiresAt,
      });
      return { api_key: r.apiKey, key: presentApiKey(r.key) };
    }
    case 'key:list':
      allowOnly(flags, ['org']);
      await auth.requireOrganization(need(flags, 'org'));
      return { keys: (await auth.listKeys(flags.org)).map(presentApiKey) };
    case 'key:revoke':
      allowOnly(flags, ['id']);
      return { key: presentApiKey(await auth.revokeKey(need(flags, 'id'))) };
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  let config: ReturnType<typeof loadConfig>;
  try {
    parsed = parseArgs(process.argv.slice(2));
    config = loadConfig();
  } catch (e) {
    if (e instanceof UsageError) process.stderr.write(`error: ${e.message}\n\n${USAGE}\n`);
    else if (e instanceof ConfigError) process.stderr.write(`Configuration error: ${e.message}\n`);
    else throw e;
    return 2;
  }

  @Module({ imports: [ConfigModule.forRoot({ config }), DatabaseModule, AuthModule] })
  class CliModule {}

  const ctx = await NestFactory.createApplicationContext(CliModule, { logger: new StderrLogger('cli', { logLevels: ['error', 'warn'] }) });
  try {
    const result = await run(ctx.get(AuthService), parsed.command, parsed.flags);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof UsageError) process.stderr.write(`error: ${e.message}\n\n${USAGE}\n`);
    else if (e instanceof AuthInputError) process.stderr.write(`error: ${e.message}\n`);
    else process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await ctx.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
