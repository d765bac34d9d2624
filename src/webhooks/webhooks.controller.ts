import { Body, Controller, HttpCode, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/openapi';
import { CurrentPrincipal, Principal, RequireScopes } from '../common/principal';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import {
  CreateWebhookDto,
  CreateWebhookResponseDto,
  DeletedResponseDto,
  RotateSecretResponseDto,
  UpdateWebhookDto,
  WebhookEndpointResponseDto,
} from './webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('Webhooks')
@RequireScopes('webhooks:manage')
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ operationId: 'createWebhook', summary: 'Register an endpoint (ping-verified before it is saved)' })
  @ApiErrorResponses(400, 401, 403, 429)
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateWebhookDto): Promise<CreateWebhookResponseDto> {
    return this.webhooks.create(p, dto);
  }

  @Get()
  @ApiOperation({ operationId: 'listWebhooks', summary: "The organization's endpoints, newest first" })
  @ApiErrorResponses(401, 403)
  list(@CurrentPrincipal() p: Principal): Promise<WebhookEndpointResponseDto[]> {
    return this.webhooks.list(p);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getWebhook', summary: 'Retrieve an endpoint' })
  @ApiErrorResponses(401, 403, 404)
  get(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<WebhookEndpointResponseDto> {
    return this.webhooks.get(p, id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateWebhook', summary: 'Update an endpoint (a new URL is ping-verified first)' })
  @ApiErrorResponses(400, 401, 403, 404, 429)
  update(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string, @Body() dto: UpdateWebhookDto): Promise<WebhookEndpointResponseDto> {
    return this.webhooks.update(p, id, dto);
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deleteWebhook', summary: 'Delete an endpoint; its pending deliveries become exhausted' })
  @ApiErrorResponses(401, 403, 404, 429)
  delete(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<DeletedResponseDto> {
    return this.webhooks.delete(p, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ operationId: 'rotateWebhookSecret', summary: 'New secret; both are signed with for 24 hours' })
  @ApiErrorResponses(401, 403, 404, 429)
  rotate(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<RotateSecretResponseDto> {
    return this.webhooks.rotateSecret(p, id);
  }
}
