import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import {
  IsIn,
  IsNotEmpty,
  IsInt,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  Validate,
} from 'class-validator';
import { Optional } from '../common/optional';
import { StrictInt } from '../common/validation';
import { CONTACT_STATUSES, ContactPropertyValue } from './contact.entity';

export const MAX_PROPERTIES = 50;
export const MAX_PROPERTY_KEY = 64;
export const MAX_PROPERTY_STRING = 1000;

/** SPEC §11.3 bounds of `properties`; the message names the first offending key. */
@ValidatorConstraint({ name: 'contactProperties' })
export class ContactPropertiesConstraint implements ValidatorConstraintInterface {
  private problem(value: unknown): string | null {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object';
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > MAX_PROPERTIES) return `must have at most ${MAX_PROPERTIES} keys`;
    for (const [k, v] of entries) {
      if (k.length === 0 || k.length > MAX_PROPERTY_KEY) return `keys must be 1 to ${MAX_PROPERTY_KEY} characters (${JSON.stringify(k.slice(0, 80))})`;
      if (v === null || typeof v === 'boolean') continue;
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) return `${k} must be a finite number`;
        continue;
      }
      if (typeof v === 'string') {
        if (v.length > MAX_PROPERTY_STRING) return `${k} must be at most ${MAX_PROPERTY_STRING} characters`;
        continue;
      }
      return `${k} must be a string, number, boolean or null`;
    }
    return null;
  }

  validate(value: unknown): boolean {
    return this.problem(value) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return this.problem(args.value) ?? 'is invalid';
  }
}

export class CreateContactDto {
  /** Any common US/Canadian format; normalized to E.164. */
  @ApiProperty({ example: '(415) 234-5678' })
  @IsString()
  @MaxLength(64)
  phone: string;

  /** Echoed back: at most 50 keys (≤ 64 characters), values string (≤ 1,000 characters), number, boolean or null. */
  @Optional({
    type: 'object',
    maxProperties: MAX_PROPERTIES,
    additionalProperties: { oneOf: [{ type: 'string', maxLength: MAX_PROPERTY_STRING, nullable: true }, { type: 'number' }, { type: 'boolean' }] },
    example: { first_name: 'Ada', crm_id: 1234 },
  } as unknown as ApiPropertyOptions)
  @Validate(ContactPropertiesConstraint)
  properties?: Record<string, ContactPropertyValue>;

  /** Where contact.completed / contact.failed is POSTed (SPEC §5.3 URL rules). */
  @Optional({ type: String, example: 'https://hooks.example.com/contact-done' })
  @IsString()
  @MaxLength(4096)
  callback_url?: string;

  /** Signs the callback (16–128 characters); only with callback_url. Without it the callback is unsigned. */
  @Optional({ type: String, minLength: 16, maxLength: 128, writeOnly: true })
  @IsString()
  @MinLength(16)
  @MaxLength(128)
  callback_secret?: string;

  /** Scoped per (organization, API key): a repeat returns the existing contact, never a second charge. */
  @Optional({ type: String, minLength: 1, maxLength: 255 })
  @IsString()
  @Length(1, 255)
  idempotency_key?: string;
}

export class ListContactsQueryDto {
  @Optional({ type: 'integer', default: 50, minimum: 1, maximum: 100 })
  @StrictInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @Optional({ type: String, minLength: 1, description: 'The next_cursor of the previous page' })
  @IsString()
  @IsNotEmpty({ message: '$property must not be empty (omit it for the first page)' })
  cursor?: string;

  @Optional({ enum: CONTACT_STATUSES })
  @IsIn(CONTACT_STATUSES)
  status?: (typeof CONTACT_STATUSES)[number];
}

export class ContactDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  organization_id: string;
  @ApiProperty({ example: '+14152345678', description: 'E.164' })
  phone: string;
  @ApiProperty({ type: 'object', additionalProperties: true })
  properties: Record<string, ContactPropertyValue>;
  @ApiProperty({ enum: CONTACT_STATUSES })
  status: string;
  @ApiProperty({ type: String, nullable: true, enum: ['Likely Answer', 'Likely Voicemail', 'Unlikely Answer', 'Unknown'] })
  optimaldial_status: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'mobile' })
  line_type: string | null;
  @ApiProperty({ type: String, nullable: true })
  error_message: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Contact has not been processed yet.' })
  message: string | null;
  @ApiProperty({ example: 1 })
  credits_charged: number;
  @ApiProperty({ type: String, nullable: true, description: 'User info masked' })
  callback_url: string | null;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  completed_at: string | null;
}

export class ContactPageDto {
  @ApiProperty({ type: [ContactDto] })
  data: ContactDto[];
  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export class CancelContactResponseDto {
  @ApiProperty({ example: 'cancelled' })
  status: 'cancelled';
  @ApiProperty({ format: 'uuid' })
  contact_id: string;
  @ApiProperty({ example: 1 })
  credits_refunded: number;
}
