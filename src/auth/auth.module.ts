import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { AuthService } from './auth.service';
import { BearerAuthGuard } from './bearer-auth.guard';
import { MeController } from './me.controller';
import { Organization } from './organization.entity';
import { OrganizationsRepository } from './organizations.repository';
import { RateLimitCounter } from './rate-limit-counter.entity';
import { RateLimitCountersRepository } from './rate-limit-counters.repository';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { User } from './user.entity';

/**
 * Organizations, users, API keys, the bearer guard and rate limits. The guards are exported so the
 * composition root (or a host application) registers them globally as APP_GUARD.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Organization, User, ApiKey, RateLimitCounter])],
  controllers: [MeController],
  providers: [OrganizationsRepository, ApiKeysRepository, AuthService, RateLimitCountersRepository, RateLimitService, BearerAuthGuard, RateLimitGuard],
  exports: [AuthService, BearerAuthGuard, RateLimitGuard, RateLimitService],
})
export class AuthModule {}
