import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/openapi';
import { CurrentPrincipal, Principal } from '../common/principal';
import { AuthService } from './auth.service';
import { MeResponseDto } from './me.dto';

@ApiTags('Account')
@Controller('api/v1/me')
export class MeController {
  constructor(private readonly auth: AuthService) {}

  @Get()
  @ApiOperation({ operationId: 'getMe', summary: "The caller's organization and API key" })
  @ApiErrorResponses(401)
  me(@CurrentPrincipal() principal: Principal): Promise<MeResponseDto> {
    return this.auth.me(principal);
  }
}
