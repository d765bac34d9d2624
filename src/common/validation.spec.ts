import { createValidationPipe, MAX_INPUT_DEPTH, nestedDeeperThan } from './validation';
import { ApiError } from './api-error';

describe('nesting bound of request input', () => {
  const nest = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

  it('measures depth iteratively, at any depth', () => {
    expect(nestedDeeperThan({ a: 1, b: [1, 2] }, 2)).toBe(false);
    expect(nestedDeeperThan({ a: { b: { c: 1 } } }, 2)).toBe(true);
    expect(nestedDeeperThan('x', 0)).toBe(false);
    expect(nestedDeeperThan(nest(200_000), MAX_INPUT_DEPTH)).toBe(true);
  });

  it('the validation pipe answers a 10,000-deep body with a 400 envelope instead of overflowing the stack', async () => {
    class Dto {}
    const pipe = createValidationPipe();
    const err = await pipe.transform({ events: nest(10_000) }, { type: 'body', metatype: Dto }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.getStatus()).toBe(400);
    expect(err.detail).toMatchObject({ error: 'validation_failed', fields: { body: [expect.stringMatching(/nest/)] } });
  });
});
