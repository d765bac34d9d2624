import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { ValidateIf, ValidationOptions, registerDecorator } from 'class-validator';

/**
 * SPEC §1: `null` is a value, not an absence. class-validator's `@IsOptional()` skips every other rule for `null`
 * too, so a `null` reached the services (PATCH `{"events": null}` was a 500). Every optional DTO field uses one of
 * these two instead, and each also writes the field's `required`/`nullable` into the OpenAPI document, so the
 * document and the validation cannot disagree:
 *
 *  - `@Optional()`: may be absent; `null` → 400 `validation_failed` naming the field.
 *  - `@OptionalNullable()`: may be absent or `null` (the document says `nullable: true`; the service gives `null`
 *    its documented meaning, e.g. "clear the description").
 *
 * Pass the field's other `@ApiProperty` options as the argument; do not add a separate `@ApiProperty`.
 */
export function Optional(api: ApiPropertyOptions = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ ...api, required: false } as ApiPropertyOptions),
    ValidateIf((_object, value) => value !== undefined),
    IsNotNull(),
  );
}

/** May be absent or `null`; any other value is checked by the field's other rules. */
export function OptionalNullable(api: ApiPropertyOptions = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ ...api, required: false, nullable: true } as ApiPropertyOptions),
    ValidateIf((_object, value) => value !== undefined && value !== null),
  );
}

/** Fails on `null` with "must not be null" (the validation pipe prefixes the field's path). */
export function IsNotNull(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isNotNull',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must not be null', ...options },
      validator: { validate: (value: unknown) => value !== null },
    });
}
