import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { joinOrOwn } from '../common/transactions';
import { DatabaseService } from '../database/database.service';
import { Organization } from './organization.entity';
import { User } from './user.entity';

@Injectable()
export class OrganizationsRepository {
  constructor(
    private readonly db: DatabaseService,
    @InjectRepository(Organization) private readonly orgs: Repository<Organization>,
    @InjectRepository(User) private readonly users: Repository<User>,
  ) {}

  findById(id: string, manager?: EntityManager): Promise<Organization | null> {
    return (manager?.getRepository(Organization) ?? this.orgs).findOneBy({ id });
  }

  async insertOrganization(org: Organization, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => m.getRepository(Organization).insert(org));
  }

  async insertUser(user: User, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => m.getRepository(User).insert(user));
  }

  findUser(id: string, manager?: EntityManager): Promise<User | null> {
    return (manager?.getRepository(User) ?? this.users).findOneBy({ id });
  }

  findUserByEmail(organizationId: string, email: string): Promise<User | null> {
    return this.users.findOneBy({ organizationId, email });
  }

  async markUserRemoved(id: string, at: Date, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => m.getRepository(User).update({ id }, { removedAt: at }));
  }

  /** Adds credits (negative = charge). A charge only succeeds when the balance covers it: no read-then-write. */
  async adjustCredits(id: string, delta: number, at: Date, manager?: EntityManager): Promise<boolean> {
    const result = await joinOrOwn(this.db, manager, (m) => {
      const qb = m
        .createQueryBuilder()
        .update(Organization)
        .set({ creditsBalance: () => `credits_balance + ${Math.trunc(delta)}`, updatedAt: at })
        .where('id = :id', { id });
      if (delta < 0) qb.andWhere('credits_balance >= :need', { need: -Math.trunc(delta) });
      return qb.execute();
    });
    return (result.affected ?? 0) === 1;
  }

  async update(id: string, patch: Partial<Organization>, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => m.getRepository(Organization).update({ id }, patch));
  }
}
