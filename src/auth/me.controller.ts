import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/openapi';
import { CurrentPrincipal, Principal } from '../common/principal';
import { presentOrganization } from './auth.presenters';
import { AuthService } from './auth.service';
import { MeResponseDto } from './me.dto';

@ApiTags('Account')
@Controller('api/v1/me')
export class MeController {
  constructor(private readonly auth: AuthService) {}

  @Get()
  @ApiOperation({ operationId: 'getMe', summary: "The caller's organization and API key" })
  @ApiErrorResponses(401)
  async me(@CurrentPrincipal() principal: Principal): Promise<MeResponseDto> {
    const { organization, key } = await this.auth.describe(principal);
    return {
      organization: presentOrganization(organization),
      api_key: {
        id: key.id,
        prefix: key.prefix,
        name: key.name,
        scopes: key.scopes,
        expires_at: key.expiresAt?.toISOString() ?? null,
      },
      user_id: principal.userId,
    };
  }
}
