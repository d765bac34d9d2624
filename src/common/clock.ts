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
