import { AppConfig } from '../config/app-config';
import { DatabaseService } from './database.service';
import { PgNotifications } from './pg-notifications';

/** A PostgreSQL DatabaseService whose queries resolve only when the test says so. */
function build() {
  const sent: Array<{ channel: string; done: () => void }> = [];
  const query = jest.fn((_sql: string, [channel]: string[]) => new Promise<void>((resolve) => sent.push({ channel, done: resolve })));
  const db = { isPostgres: true, dataSource: { query } } as unknown as DatabaseService;
  return { notifications: new PgNotifications(db, {} as AppConfig), sent, query };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('PgNotifications.notify', () => {
  it('sends one NOTIFY for the calls of one tick, then one more for all the calls made while it was on the wire', async () => {
    const { notifications, sent } = build();
    for (let i = 0; i < 5; i++) notifications.notify('od_deliveries');
    await turn();
    expect(sent.map((s) => s.channel)).toEqual(['od_deliveries']);
    for (let i = 0; i < 3; i++) notifications.notify('od_deliveries');
    await turn();
    expect(sent).toHaveLength(1);
    sent[0].done();
    await turn();
    await turn();
    expect(sent).toHaveLength(2);
    sent[1].done();
    await turn();
    await turn();
    expect(sent).toHaveLength(2);
  });

  it('keeps channels apart, and a failed NOTIFY does not stop the next one', async () => {
    const { notifications, sent, query } = build();
    query.mockImplementationOnce(() => Promise.reject(new Error('connection lost')));
    notifications.notify('a');
    notifications.notify('b');
    await turn();
    expect(sent.map((s) => s.channel)).toEqual(['b']);
    await turn();
    notifications.notify('a');
    await turn();
    expect(sent.map((s) => s.channel)).toEqual(['b', 'a']);
  });

  it('sends nothing on SQLite', async () => {
    const query = jest.fn();
    const notifications = new PgNotifications({ isPostgres: false, dataSource: { query } } as unknown as DatabaseService, {} as AppConfig);
    notifications.notify('od_deliveries');
    await turn();
    expect(query).not.toHaveBeenCalled();
  });
});
