import { Body, Controller, Delete, Get, HttpStatus, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrorResponses } from '../common/openapi';
import { CurrentPrincipal, Principal, RequireScopes } from '../common/principal';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { CancelContactResponseDto, ContactDto, ContactPageDto, CreateContactDto, ListContactsQueryDto } from './contact.dto';
import { ContactsFeatureGuard, JsonOnlyGuard } from './contacts.guards';
import { ContactsService } from './contacts.service';

const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': { description: 'Write requests allowed per window (the tighter of the key and organization counters)', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Writes left in the window', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'Unix seconds when the window resets', schema: { type: 'integer' } },
};

/** SPEC §11 (Enterprise). Thin: the guard gates the feature, the global pipe validates, the service decides. */
@ApiTags('Contacts')
@Controller('api/v1/contacts')
@UseGuards(ContactsFeatureGuard)
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  @Post()
  @RequireScopes('uploads:write')
  @UseGuards(JsonOnlyGuard)
  @ApiOperation({ operationId: 'createContact', summary: 'Submit one phone number for classification; charged one credit (Enterprise: single_contact_api)' })
  @ApiBody({
    type: CreateContactDto,
    examples: {
      callback: { value: { phone: '(415) 234-5678', properties: { crm_id: 'A-17' }, callback_url: 'https://hooks.example.com/contact-done', idempotency_key: 'crm-A-17' } },
    },
  })
  @ApiResponse({
    status: 200,
    type: ContactDto,
    description: 'Created (no callback), or the existing contact for a repeated idempotency key',
    headers: {
      ...RATE_LIMIT_HEADERS,
      'Idempotency-Mismatch': { description: '`true` when the idempotency key was used before with a different body', schema: { type: 'string', enum: ['true'] } },
    },
  })
  @ApiResponse({ status: 202, type: ContactDto, description: 'Created; the callback URL will be notified', headers: RATE_LIMIT_HEADERS })
  @ApiErrorResponses(400, 401, 402, 403, 413, 415, 422, 429)
  async create(@CurrentPrincipal() p: Principal, @Body() dto: CreateContactDto, @Res({ passthrough: true }) res: Response): Promise<ContactDto> {
    const r = await this.contacts.create(p, dto);
    if (r.idempotencyMismatch) res.setHeader('Idempotency-Mismatch', 'true');
    res.status(r.accepted ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return r.contact;
  }

  @Get()
  @RequireScopes('uploads:read')
  @ApiOperation({ operationId: 'listContacts', summary: 'Contacts, newest first (cursor-paginated)' })
  @ApiResponse({ status: 200, type: ContactPageDto })
  @ApiErrorResponses(400, 401, 403)
  list(@CurrentPrincipal() p: Principal, @Query() q: ListContactsQueryDto): Promise<ContactPageDto> {
    return this.contacts.list(p, q);
  }

  @Get(':id')
  @RequireScopes('uploads:read')
  @ApiOperation({ operationId: 'getContact', summary: 'Retrieve a contact' })
  @ApiResponse({ status: 200, type: ContactDto })
  @ApiErrorResponses(401, 403, 404)
  get(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<ContactDto> {
    return this.contacts.get(p, id);
  }

  @Delete(':id')
  @RequireScopes('uploads:write')
  @ApiOperation({ operationId: 'cancelContact', summary: 'Cancel while queued; the credit is refunded' })
  @ApiResponse({ status: 200, type: CancelContactResponseDto, headers: RATE_LIMIT_HEADERS })
  @ApiErrorResponses(401, 403, 404, 409, 429)
  cancel(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<CancelContactResponseDto> {
    return this.contacts.cancel(p, id);
  }
}
