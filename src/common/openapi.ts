import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';

/** The SPEC §2 envelope as an OpenAPI schema: `detail` is a message or an object with an `error` code. */
export class ErrorDetailObjectDto {
  @ApiProperty({ example: 'validation_failed', description: 'Machine-readable error code' })
  error: string;

  @ApiProperty({ required: false, example: 'description must be at most 500 characters' })
  message?: string;
}

export class ErrorEnvelopeDto {
  @ApiProperty({
    oneOf: [{ type: 'string', example: 'Not found' }, { $ref: '#/components/schemas/ErrorDetailObjectDto' }],
    description: 'A message, or an object with a machine-readable `error` code and context fields',
  })
  detail: string | ErrorDetailObjectDto;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed input or a violated constraint',
  401: 'Missing, malformed, unknown, expired or revoked API key',
  402: 'Not enough credits',
  403: 'The key lacks the scope, or the organization lacks an active subscription',
  404: 'Not found, or belongs to another organization',
  409: 'State conflict',
  413: 'Request too large',
  415: 'Unsupported content type',
  422: 'Too few valid phone numbers',
  429: 'Rate limit exceeded (see Retry-After)',
};

/** Documents each listed error status (plus 500) with the envelope schema. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto, ErrorDetailObjectDto),
    ...[...statuses, 500].map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Unexpected error; the body carries the request id',
        schema: { $ref: getSchemaPath(ErrorEnvelopeDto) },
      }),
    ),
  );
}
