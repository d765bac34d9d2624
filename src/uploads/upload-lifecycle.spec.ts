import { EntityManager } from 'typeorm';
import { AuthService } from '../auth/auth.service';
import { Organization } from '../auth/organization.entity';
import { Clock } from '../common/clock';
import { DatabaseService } from '../database/database.service';
import { EventsService } from '../deliveries/events.service';
import { SignedUrls } from './signed-urls';
import { Upload } from './upload.entity';
import { UploadLifecycle } from './upload-lifecycle';
import { UploadsRepository } from './uploads.repository';

/** The charging rules of accept() (SPEC §4.3), with the repository, the credits and the outbox mocked. */
describe('UploadLifecycle.accept', () => {
  const manager = {} as EntityManager;
  const db = { transaction: (work: (m: EntityManager) => Promise<unknown>) => work(manager) } as unknown as DatabaseService;
  let repo: { acceptedRowsSince: jest.Mock };
  let auth: { chargeCredits: jest.Mock };
  let events: { publish: jest.Mock };
  let lifecycle: UploadLifecycle;

  const org = (dailyRowLimit: number | null) => Object.assign(new Organization(), { id: 'org-1', dailyRowLimit });
  const upload = (validRowCount: number, at = new Date('2026-03-04T15:00:00Z')) =>
    Object.assign(new Upload(), { id: 'up-1', organizationId: 'org-1', status: 'awaiting_confirmation', validRowCount, creditsRequired: validRowCount, creditsCharged: 0, exceededDailyLimit: false, updatedAt: at, createdAt: at });

  beforeEach(() => {
    repo = { acceptedRowsSince: jest.fn().mockResolvedValue(0) };
    auth = { chargeCredits: jest.fn().mockResolvedValue(true) };
    events = { publish: jest.fn().mockResolvedValue({ id: 'ev-1' }) };
    lifecycle = new UploadLifecycle(db, repo as unknown as UploadsRepository, auth as unknown as AuthService, events as unknown as EventsService, {} as SignedUrls, new Clock());
  });

  it('charges the credits it requires, stores it ready for processing, then publishes upload.created in the same transaction', async () => {
    const store = jest.fn().mockResolvedValue(undefined);
    const accepted = await lifecycle.accept(org(null), upload(150), store);
    expect(auth.chargeCredits).toHaveBeenCalledWith(manager, 'org-1', 150);
    expect(accepted).toMatchObject({ status: 'ready_for_processing', creditsCharged: 150, exceededDailyLimit: false });
    expect(store).toHaveBeenCalledWith(manager, accepted);
    expect(events.publish).toHaveBeenCalledWith(manager, 'org-1', 'upload.created', { upload: expect.objectContaining({ id: 'up-1', status: 'ready_for_processing' }) }, { uploadId: 'up-1' });
    expect(repo.acceptedRowsSince).not.toHaveBeenCalled(); // no limit, nothing to count
  });

  it('402 Insufficient credits when the charge fails: nothing stored, nothing published', async () => {
    auth.chargeCredits.mockResolvedValue(false);
    const store = jest.fn();
    await expect(lifecycle.accept(org(null), upload(150), store)).rejects.toMatchObject({ status: 402, detail: 'Insufficient credits' });
    expect(store).not.toHaveBeenCalled();
    expect(events.publish).not.toHaveBeenCalled();
  });

  it.each([
    [1000, 850, 150, false], // exactly at the limit is not over it
    [1000, 851, 150, true],
    [100, 0, 150, true], // one upload alone can pass the limit: still accepted and charged
  ])('daily limit %i, %i rows accepted today, %i now → flagged %s', async (limit, today, rows, flagged) => {
    repo.acceptedRowsSince.mockResolvedValue(today);
    const accepted = await lifecycle.accept(org(limit), upload(rows), async () => undefined);
    expect(accepted.exceededDailyLimit).toBe(flagged);
    expect(accepted.creditsCharged).toBe(rows);
  });

  it('counts the rows of the UTC day of acceptance, inside the transaction (after the charge took the lock)', async () => {
    const order: string[] = [];
    auth.chargeCredits.mockImplementation(async () => order.push('charge') && true);
    repo.acceptedRowsSince.mockImplementation(async () => order.push('count') && 0);
    await lifecycle.accept(org(10), upload(5, new Date('2026-03-04T23:59:59Z')), async () => undefined);
    expect(order).toEqual(['charge', 'count']);
    expect(repo.acceptedRowsSince).toHaveBeenCalledWith('org-1', new Date('2026-03-04T00:00:00Z'), manager);
  });

  it('a store that refuses (a lost race) stops the event', async () => {
    await expect(lifecycle.accept(org(null), upload(150), async () => Promise.reject(new Error('lost')))).rejects.toThrow('lost');
    expect(events.publish).not.toHaveBeenCalled();
  });
});
