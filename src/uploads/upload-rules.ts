import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../common/api-error';

/** SPEC §4.3: an upload needs this many distinct valid numbers. */
export const MIN_VALID_NUMBERS = 100;

/** The customer's sentence for a list below the minimum: the 422 of the API path and the web flow's error_message. */
export function tooFewNumbersMessage(found: number): string {
  return `At least ${MIN_VALID_NUMBERS} valid US/Canadian phone numbers are required; found ${found}`;
}

export function tooFewNumbers(found: number): ApiError {
  return new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, { error: 'too_few_valid_numbers', message: tooFewNumbersMessage(found), valid_row_count: found, minimum: MIN_VALID_NUMBERS });
}

export function insufficientCredits(): ApiError {
  return new ApiError(HttpStatus.PAYMENT_REQUIRED, 'Insufficient credits');
}
