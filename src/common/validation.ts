import { ArgumentMetadata, ValidationError, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { ClassConstructor, plainToInstance, Transform } from 'class-transformer';
import { validateSync } from 'class-validator';
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

export function validationError(errors: ValidationError[], path = ''): ApiError {
  const fields: Record<string, string[]> = {};
  collect(errors, path, fields);
  const first = Object.entries(fields)[0];
  const message = first ? `${first[0]} ${first[1][0]}` : 'Invalid request';
  return ApiError.validation(message, fields);
}

/** No request DTO nests beyond a few levels; anything deeper is refused before it is walked recursively. */
export const MAX_INPUT_DEPTH = 32;

/** Whether `value` nests objects/arrays more than `max` levels deep; iterative, so any depth is safe to ask about. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

const tooDeep = (where: string): ApiError =>
  ApiError.validation(`The request ${where} is nested too deeply`, { [where]: [`must not nest more than ${MAX_INPUT_DEPTH} levels deep`] });

/**
 * Nest's ValidationPipe and class-transformer walk the input recursively: a body of 10,000 nested arrays
 * overflows the stack (a 500). Such input is rejected with a 400 before they see it.
 */
class DepthLimitedValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (nestedDeeperThan(value, MAX_INPUT_DEPTH)) {
      throw tooDeep(metadata.type === 'custom' ? 'input' : metadata.type);
    }
    return super.transform(value, metadata);
  }
}

const OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  exceptionFactory: validationError,
} satisfies ValidationPipeOptions;

/** Whitelist + forbid unknown fields (SPEC §1), errors in the §2 envelope, a bound on nesting. */
export function createValidationPipe(): ValidationPipe {
  return new DepthLimitedValidationPipe(OPTIONS);
}

/**
 * The global pipe's rules and messages for input that does not arrive as a Nest-parsed body: the JSON upload body
 * (read after the guards), the multipart text fields, the JSON-encoded webhook hash. Synchronous, so a part of the
 * input can be checked where it is parsed. Throws the same 400 `validation_failed` the pipe does.
 */
export function validateInput<T extends object>(metatype: ClassConstructor<T>, value: unknown, path = ''): T {
  const where = path || 'body';
  if (nestedDeeperThan(value, MAX_INPUT_DEPTH)) {
    throw tooDeep(where);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    if (!path) throw ApiError.badRequest('The body must be a JSON object');
    throw ApiError.validation(`${path} must be a JSON object`, { [path]: ['must be a JSON object'] });
  }
  let instance: T;
  try {
    instance = plainToInstance(metatype, value, OPTIONS.transformOptions);
  } catch {
    // class-transformer follows a nested object's own `constructor` key (`{"filename": {"constructor": 1}}`) and
    // throws: that is a value of the wrong shape, a 400, never a 500 (found by the fuzz suite)
    throw ApiError.validation(`The request ${where} has a value of the wrong type`, { [where]: ['has a value of the wrong type'] });
  }
  const errors = validateSync(instance, { whitelist: OPTIONS.whitelist, forbidNonWhitelisted: OPTIONS.forbidNonWhitelisted, forbidUnknownValues: OPTIONS.forbidUnknownValues });
  if (errors.length) throw validationError(errors, path);
  return instance;
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
