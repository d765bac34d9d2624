import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { Organization } from './organization.entity';
import { User } from './user.entity';

@Injectable()
export class OrganizationsRepository {
  constructor(
    @InjectRepository(Organization) private readonly orgs: Repository<Organization>,
    @InjectRepository(User) private readonly users: Repository<User>,
  ) {}

  findById(id: string, manager?: EntityManager): Promise<Organization | null> {
    return (manager?.getRepository(Organization) ?? this.orgs).findOneBy({ id });
  }

  async insertOrganization(manager: EntityManager, org: Organization): Promise<void> {
    await manager.getRepository(Organization).insert(org);
  }

  async insertUser(manager: EntityManager, user: User): Promise<void> {
    await manager.getRepository(User).insert(user);
  }

  findUser(id: string, manager?: EntityManager): Promise<User | null> {
    return (manager?.getRepository(User) ?? this.users).findOneBy({ id });
  }

  findUserByEmail(organizationId: string, email: string): Promise<User | null> {
    return this.users.findOneBy({ organizationId, email });
  }

  async markUserRemoved(manager: EntityManager, id: string, at: Date): Promise<void> {
    await manager.getRepository(User).update({ id }, { removedAt: at });
  }

  /** Adds credits (negative = charge). A charge only succeeds when the balance covers it: no read-then-write. */
  async adjustCredits(manager: EntityManager, id: string, delta: number, at: Date): Promise<boolean> {
    const qb = manager
      .createQueryBuilder()
      .update(Organization)
      .set({ creditsBalance: () => `credits_balance + ${Math.trunc(delta)}`, updatedAt: at })
      .where('id = :id', { id });
    if (delta < 0) qb.andWhere('credits_balance >= :need', { need: -Math.trunc(delta) });
    const result = await qb.execute();
    return (result.affected ?? 0) === 1;
  }

  async update(manager: EntityManager, id: string, patch: Partial<Organization>): Promise<void> {
    await manager.getRepository(Organization).update({ id }, patch);
  }
}
