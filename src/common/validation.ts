import { ValidationError, ValidationPipe } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ApiError } from './api-error';

function collect(errors: ValidationError[], prefix: string, out: Record<string, string[]>): void {
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      out[path] = Object.entries(e.constraints).map(([key, msg]) =>
        key === 'whitelistValidation' ? 'is not a recognised field' : msg.replace(new RegExp(`^${e.property} `), ''),
      );
    }
    if (e.children?.length) collect(e.children, path, out);
  }
}

export function validationError(errors: ValidationError[]): ApiError {
  const fields: Record<string, string[]> = {};
  collect(errors, '', fields);
  const first = Object.entries(fields)[0];
  const message = first ? `${first[0]} ${first[1][0]}` : 'Invalid request';
  return ApiError.validation(message, fields);
}

/** Whitelist + forbid unknown fields (SPEC §1), errors in the §2 envelope. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: validationError,
  });
}

/**
 * Strict integer query parameter: only `-?\d+` is a number; `abc`, `1e2`, `1.5` and `` stay invalid (NaN)
 * so @IsInt rejects them with 400 instead of silently coercing.
 */
export function StrictInt(): PropertyDecorator {
  return Transform(({ value }) => (typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN));
}

/** Strict boolean for multipart/query fields: "true"/"false" (and real booleans) only. */
export function StrictBool(): PropertyDecorator {
  return Transform(({ value }) => (value === 'true' || value === true ? true : value === 'false' || value === false ? false : value));
}
