import { Controller, Delete, Get, HttpStatus, Inject, Param, ParseEnumPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiExtraModels, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiError } from '../common/api-error';
import { readJsonBody } from '../common/body-parser.middleware';
import { ApiErrorResponses } from '../common/openapi';
import { CurrentPrincipal, Principal, RequireScopes } from '../common/principal';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { AppConfig } from '../config/app-config';
import { receiveMultipart } from './multipart-intake';
import { DOWNLOAD_KINDS, DownloadKind } from './signed-urls';
import { FILE_STORAGE, FileStorage } from './storage/file-storage';
import { CancelResponseDto, CreateUploadJsonDto, CreateUploadMultipartDto, DownloadUrlDto, ListUploadsQueryDto, UploadDto, UploadMultipartFieldsDto, UploadPageDto } from './upload.dto';
import { jsonUploadInput, multipartUploadInput } from './upload-intake';
import { CreatedUpload, UploadsService } from './uploads.service';

@ApiTags('Uploads')
@Controller('api/v1/uploads')
export class UploadsController {
  constructor(
    private readonly uploads: UploadsService,
    private readonly config: AppConfig,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
  ) {}

  @Post()
  @RequireScopes('uploads:write')
  @ApiOperation({ operationId: 'createUpload', summary: 'Submit a phone list (CSV file or JSON list); charged one credit per distinct valid number' })
  @ApiConsumes('multipart/form-data', 'application/json')
  @ApiExtraModels(CreateUploadJsonDto, CreateUploadMultipartDto)
  @ApiBody({
    schema: { oneOf: [{ $ref: getSchemaPath(CreateUploadMultipartDto) }, { $ref: getSchemaPath(CreateUploadJsonDto) }] },
    examples: {
      json: { value: { filename: 'leads.csv', phone_numbers: ['+14152345678', '(415) 234-5679'], webhook: { url: 'https://hooks.example.com/upload-done', delay: 60 } } },
    },
  })
  @ApiResponse({ status: 200, type: UploadDto, description: 'Created' })
  @ApiResponse({ status: 202, type: UploadDto, description: 'Created; the per-request webhook will be notified' })
  @ApiErrorResponses(400, 401, 402, 403, 413, 415, 422, 429)
  async create(@CurrentPrincipal() p: Principal, @Req() req: Request, @Res() res: Response): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    let result: CreatedUpload;
    if (type === 'application/json') result = await this.createFromJson(p, req, res);
    else if (type === 'multipart/form-data') result = await this.createFromMultipart(p, req, res);
    else throw new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Use multipart/form-data (a CSV file) or application/json (a list)');
    // @Res() without passthrough: Nest would otherwise overwrite the status with its POST default
    res.status(result.accepted ? HttpStatus.ACCEPTED : HttpStatus.OK).json(result.upload);
  }

  private async createFromJson(p: Principal, req: Request, res: Response): Promise<CreatedUpload> {
    const body = await readJsonBody(req, res, this.config.upload.maxJsonBodyBytes);
    return this.uploads.createFromJson(p, jsonUploadInput(body, this.config.upload.maxJsonEntries));
  }

  /** The subscription is checked before a byte of the file is read; the fields once the body is in. */
  private async createFromMultipart(p: Principal, req: Request, res: Response): Promise<CreatedUpload> {
    const organization = await this.uploads.assertCanUpload(p);
    const key = this.uploads.newStorageKey();
    const { fields, file } = await receiveMultipart(req, this.storage, key, this.config.upload.maxCsvBytes).catch((e) => {
      res.setHeader('Connection', 'close');
      throw e;
    });
    if (!file) throw ApiError.validation('file is required', { file: ['is required'] });
    let input: UploadMultipartFieldsDto;
    try {
      input = multipartUploadInput(fields);
    } catch (e) {
      await this.storage.delete(key);
      throw e;
    }
    const options = { phoneColumn: input.phone_column.trim(), skipMobileLookup: input.skip_mobile_lookup === 'true', webhook: input.webhook };
    return this.uploads.createFromStoredCsv(p, { ...file, filename: input.filename_override?.trim() || file.filename }, options, organization);
  }

  @Get()
  @RequireScopes('uploads:read')
  @ApiOperation({ operationId: 'listUploads', summary: 'Uploads, newest first (cursor-paginated)' })
  @ApiErrorResponses(400, 401, 403)
  list(@CurrentPrincipal() p: Principal, @Query() q: ListUploadsQueryDto): Promise<UploadPageDto> {
    return this.uploads.list(p, q);
  }

  @Get(':id')
  @RequireScopes('uploads:read')
  @ApiOperation({ operationId: 'getUpload', summary: 'Retrieve an upload' })
  @ApiErrorResponses(401, 403, 404)
  get(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<UploadDto> {
    return this.uploads.get(p, id);
  }

  @Delete(':id')
  @RequireScopes('uploads:write')
  @ApiOperation({ operationId: 'cancelUpload', summary: 'Cancel before processing starts; credits are refunded' })
  @ApiErrorResponses(401, 403, 404, 409, 429)
  cancel(@CurrentPrincipal() p: Principal, @Param('id', UuidParamPipe) id: string): Promise<CancelResponseDto> {
    return this.uploads.cancel(p, id);
  }

  @Get(':id/download/:kind')
  @RequireScopes('uploads:read')
  @ApiOperation({ operationId: 'getUploadDownloadUrl', summary: 'A signed download URL, valid one hour' })
  @ApiErrorResponses(401, 403, 404, 409)
  download(
    @CurrentPrincipal() p: Principal,
    @Param('id', UuidParamPipe) id: string,
    @Param('kind', new ParseEnumPipe(DOWNLOAD_KINDS, { exceptionFactory: () => ApiError.notFound() })) kind: DownloadKind,
  ): Promise<DownloadUrlDto> {
    return this.uploads.downloadUrl(p, id, kind);
  }
}
