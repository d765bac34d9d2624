import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';

/** The fixed-window counters behind the rate limits (SPEC §3.4): one row per bucket, the same SQL on both engines. */
@Injectable()
export class RateLimitCountersRepository {
  constructor(private readonly db: DatabaseService) {}

  /**
   * Counts one request in `bucket` with one atomic upsert: a window that started at or before `cutoff` has ended,
   * and the request opens a new one at `now`. Returns the window's count and start after this request.
   */
  async increment(bucket: string, now: number, cutoff: number): Promise<{ count: number; windowStart: number }> {
    const [row] = await this.db.transaction((m) =>
      this.db.rows(
        m,
        this.db.sql`INSERT INTO rate_limit_counters (bucket, window_start, count) VALUES (${bucket}, ${now}, 1)
          ON CONFLICT (bucket) DO UPDATE SET
            count = CASE WHEN rate_limit_counters.window_start <= ${cutoff} THEN 1 ELSE rate_limit_counters.count + 1 END,
            window_start = CASE WHEN rate_limit_counters.window_start <= ${cutoff} THEN ${now} ELSE rate_limit_counters.window_start END
          RETURNING count, window_start`,
      ),
    );
    return { count: Number(row.count), windowStart: Number(row.window_start) };
  }

  /** Windows that started before `cutoff` are over: their rows are garbage. */
  async deleteStartedBefore(cutoff: number): Promise<void> {
    await this.db.transaction((m) => this.db.execute(m, this.db.sql`DELETE FROM rate_limit_counters WHERE window_start < ${cutoff}`));
  }
}
