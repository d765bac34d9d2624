import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, IsNull, LessThan, Or, Repository } from 'typeorm';
import { DatabaseService } from '../database/database.service';
import { joinOrOwn } from '../common/transactions';
import { ApiKey } from './api-key.entity';

@Injectable()
export class ApiKeysRepository {
  constructor(
    private readonly db: DatabaseService,
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
  ) {}

  async insert(key: ApiKey, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => m.getRepository(ApiKey).insert(key));
  }

  /** Lookup by the SHA-256 of the presented key: equality on a hash, so timing reveals nothing about the key. */
  findByHash(hash: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ keyHash: hash });
  }

  findById(id: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ id });
  }

  listForOrganization(organizationId: string): Promise<ApiKey[]> {
    return this.keys.find({ where: { organizationId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    const r = await this.db.transaction((m) => m.getRepository(ApiKey).update({ id, revokedAt: IsNull() }, { revokedAt: at }));
    return (r.affected ?? 0) > 0;
  }

  async revokeAllOfUser(userId: string, at: Date, manager?: EntityManager): Promise<number> {
    const r = await joinOrOwn(this.db, manager, (m) => m.getRepository(ApiKey).update({ userId, revokedAt: IsNull() }, { revokedAt: at }));
    return r.affected ?? 0;
  }

  /** Conditional write so that at most one request per key per interval touches the row. */
  async touchLastUsed(id: string, at: Date, notSince: Date): Promise<void> {
    await this.db.transaction((m) => m.getRepository(ApiKey).update({ id, lastUsedAt: Or(IsNull(), LessThan(notSince)) }, { lastUsedAt: at }));
  }
}
