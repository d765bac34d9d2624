import { Injectable } from '@nestjs/common';

/** The only source of "now" for business logic, so tests move time instead of sleeping. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return Date.now();
  }
}

/** A clock tests can move: real time plus an offset. */
export class TestClock extends Clock {
  private offsetMs = 0;

  override nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Midnight UTC of `d`'s day: the boundary of the daily row limit (SPEC §4.3). */
export function startOfUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}
