import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { IsString, validateSync } from 'class-validator';
import { Optional, OptionalNullable } from './optional';
import { acceptedQueryNames, rawQueryNames } from './query-names';

class Sample {
  @Optional({ type: String })
  @IsString()
  name?: string;

  @OptionalNullable({ type: String })
  @IsString()
  note?: string | null;
}

const errorsOf = (plain: object) =>
  Object.fromEntries(validateSync(plainToInstance(Sample, plain)).map((e) => [e.property, Object.values(e.constraints ?? {})]));

describe('@Optional / @OptionalNullable (SPEC §1: null is a value)', () => {
  it('absent is fine for both', () => {
    expect(errorsOf({})).toEqual({});
  });

  it('null on an @Optional field is refused with "must not be null"; on an @OptionalNullable one it is accepted', () => {
    expect(errorsOf({ name: null })).toEqual({ name: expect.arrayContaining(['name must not be null']) });
    expect(errorsOf({ note: null })).toEqual({});
  });

  it('any other value still goes through the field rules', () => {
    expect(Object.keys(errorsOf({ name: 5, note: 5 })).sort()).toEqual(['name', 'note']);
    expect(errorsOf({ name: 'a', note: 'b' })).toEqual({});
  });
});

describe('query parameter names', () => {
  it('reads the raw names, including the ones the query parser drops', () => {
    expect(rawQueryNames('/api/v1/uploads?limit=1&__proto__=x&constructor=y&a%5B%5D=1')).toEqual(['limit', '__proto__', 'constructor', 'a[]']);
    expect(rawQueryNames('/api/v1/uploads')).toEqual([]);
  });

  it('the accepted names are what the handler reads: a @Query() DTO\'s properties, or @Query(name)', async () => {
    const { UploadsController } = await import('../uploads/uploads.controller');
    const { FilesController } = await import('../uploads/files.controller');
    const { MeController } = await import('../auth/me.controller');
    expect([...acceptedQueryNames(UploadsController, UploadsController.prototype.list)].sort()).toEqual(['cursor', 'limit', 'status']);
    expect([...acceptedQueryNames(FilesController, FilesController.prototype.download)].sort()).toEqual(['expires', 'signature']);
    expect([...acceptedQueryNames(MeController, MeController.prototype.me)]).toEqual([]);
  });
});
