import { BadRequestException, HttpStatus, NotFoundException } from '@nestjs/common';
import { ApiError } from './api-error';
import { toEnvelope } from './error.filter';

describe('toEnvelope (SPEC §2)', () => {
  it('keeps an ApiError detail, status and headers', () => {
    const e = new ApiError(HttpStatus.TOO_MANY_REQUESTS, { error: 'rate_limit_exceeded', limit: 60 }, { 'Retry-After': '5' });
    expect(toEnvelope(e, 'r1')).toEqual({ status: 429, detail: { error: 'rate_limit_exceeded', limit: 60 }, headers: { 'Retry-After': '5' } });
  });

  it('maps framework exceptions to a string detail', () => {
    expect(toEnvelope(new NotFoundException('Cannot GET /x'), 'r1')).toMatchObject({ status: 404, detail: 'Not found' });
    expect(toEnvelope(new BadRequestException('bad'), 'r1')).toMatchObject({ status: 400, detail: 'bad' });
  });

  it('maps body-parser errors', () => {
    expect(toEnvelope(Object.assign(new SyntaxError('x'), { status: 400, type: 'entity.parse.failed' }), 'r')).toMatchObject({ status: 400, detail: 'Malformed JSON body' });
    expect(toEnvelope(Object.assign(new Error('x'), { status: 413, type: 'entity.too.large' }), 'r')).toMatchObject({ status: 413, detail: 'Request body too large' });
  });

  it('never leaks an unexpected error: 500 with only the request id', () => {
    const out = toEnvelope(new Error('SELECT * FROM secrets failed at /srv/app.ts:12'), 'req-42');
    expect(out).toEqual({ status: 500, detail: { error: 'internal_error', request_id: 'req-42' }, headers: {} });
    expect(toEnvelope('a string', 'req-43').status).toBe(500);
    expect(toEnvelope(null, 'req-44').status).toBe(500);
  });
});
