import { Body, Controller, HttpCode, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrorResponses } from '../common/openapi';
import { CurrentPrincipal, Principal, RequireAnyScope, RequireScopes } from '../common/principal';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { DeliveriesService } from './deliveries.service';
import {
  DeliveriesQueryDto,
  DeliveryDetailDto,
  DeliveryPageDto,
  EndpointDeliveriesQueryDto,
  EndpointStatsDto,
  EndpointStatsQueryDto,
  RecoverDto,
  RecoverResponseDto,
  RequeuedResponseDto,
  TestEventDto,
  TestEventResponseDto,
  WebhookDeliveryDto,
} from './delivery.dto';

@ApiTags('Deliveries')
@RequireScopes('webhooks:manage')
@Controller('api/v1/webhooks/:id')
export class WebhookDeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get('deliveries')
  @ApiOperation({ operationId: 'listWebhookDeliveries', summary: "An endpoint's deliveries, newest first (bare array)" })
  @ApiOkResponse({ type: [WebhookDeliveryDto], headers: { 'X-Next-Cursor': { description: 'Cursor of the next page, when there is one', schema: { type: 'string' } } } })
  @ApiErrorResponses(400, 401, 403, 404)
  async list(
    @CurrentPrincipal() p: Principal,
    @Param('id', UuidParamPipe) id: string,
    @Query() q: EndpointDeliveriesQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<WebhookDeliveryDto[]> {
    const { items, nextCursor } = await this.deliveries.listForEndpoint(p, id, q);
    if (nextCursor) res.setHeader('X-Next-Cursor', nextCursor);
    return items;
  }

  @Post('deliveries/:deliveryId/retry')
  @HttpCode(200)
  @ApiOperation({ operationId: 'retryWebhookDelivery', summary: 'Re-queue one delivery now (same delivery id, schedule restarts)' })
  @ApiErrorResponses(401, 403, 404, 409, 429)
  retry(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string, @Param('deliveryId', UuidParamPipe) deliveryId: string): Promise<RequeuedResponseDto> {
    return this.deliveries.retry(p, id, deliveryId);
  }

  @Post('recover')
  @HttpCode(200)
  @ApiOperation({ operationId: 'recoverWebhookDeliveries', summary: 'Re-queue exhausted deliveries created since a time' })
  @ApiErrorResponses(400, 401, 403, 404, 429)
  recover(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string, @Body() dto: RecoverDto): Promise<RecoverResponseDto> {
    return this.deliveries.recover(p, id, new Date(dto.since));
  }

  @Post('test')
  @HttpCode(200)
  @ApiOperation({ operationId: 'sendWebhookTestEvent', summary: 'Enqueue a sample event to this endpoint only (409 on an inactive endpoint)' })
  @ApiErrorResponses(400, 401, 403, 404, 409, 429)
  test(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string, @Body() dto: TestEventDto): Promise<TestEventResponseDto> {
    return this.deliveries.sendTest(p, id, dto.event_type);
  }

  @Get('stats')
  @ApiOperation({ operationId: 'getWebhookStats', summary: "An endpoint's health for a chart: attempts per hour, success rate, latency, queue now" })
  @ApiOkResponse({ type: EndpointStatsDto })
  @ApiErrorResponses(400, 401, 403, 404)
  stats(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string, @Query() q: EndpointStatsQueryDto): Promise<EndpointStatsDto> {
    return this.deliveries.stats(p, id, q.hours ?? 24);
  }
}

@ApiTags('Deliveries')
@Controller('api/v1/deliveries')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @RequireAnyScope('webhooks:manage', 'uploads:read')
  @ApiOperation({ operationId: 'listDeliveries', summary: "The organization's deliveries (endpoint and per-request), cursor-paginated" })
  @ApiErrorResponses(400, 401, 403)
  list(@CurrentPrincipal() p: Principal, @Query() q: DeliveriesQueryDto): Promise<DeliveryPageDto> {
    return this.deliveries.list(p, q);
  }

  @Get(':id')
  @RequireAnyScope('webhooks:manage', 'uploads:read')
  @ApiOperation({ operationId: 'getDelivery', summary: 'One delivery with the exact payload sent and every attempt' })
  @ApiErrorResponses(401, 403, 404)
  get(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<DeliveryDetailDto> {
    return this.deliveries.get(p, id);
  }
}
