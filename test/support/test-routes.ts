import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { CurrentPrincipal, Principal, RequireScopes } from '../../src/common/principal';

/** Routes that exist only in tests: a plain write route (rate limits apply automatically) and a thrown error. */
@Controller('api/v1/test-only')
class TestOnlyController {
  @Post('write')
  @HttpCode(200)
  write(@CurrentPrincipal() p: Principal) {
    return { ok: true, organization_id: p.organizationId };
  }

  @Post('scoped')
  @HttpCode(200)
  @RequireScopes('webhooks:manage')
  scoped() {
    return { ok: true };
  }

  @Get('boom')
  boom(): never {
    throw new Error('internal detail: SELECT secret FROM vault /srv/app.ts:12');
  }
}

@Module({ controllers: [TestOnlyController] })
export class TestRoutesModule {}
