import type { EntityManager } from 'typeorm';

/** What a repository needs of DatabaseService to own a statement (kept structural: common imports nothing below). */
export interface Transactional {
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
}

/**
 * The transaction rule (ARCHITECTURE.md): a repository owns its single statements, a service opens a transaction
 * only for a unit of several and passes its manager to every call inside it. So a repository write given a manager
 * joins that transaction; without one it runs as its own (on SQLite every write must go through
 * DatabaseService.transaction, which serializes writers on the shared connection).
 */
export function joinOrOwn<T>(db: Transactional, manager: EntityManager | undefined, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return manager ? work(manager) : db.transaction(work);
}
