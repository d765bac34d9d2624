import { Injectable, PipeTransform } from '@nestjs/common';
import { ApiError } from './api-error';
import { UUID_RE } from './ids';

/** A malformed id cannot name any resource: answer 404 like an unknown one (ids must not leak anything). */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || !UUID_RE.test(value)) throw ApiError.notFound();
    return value.toLowerCase();
  }
}
