import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator, HealthIndicatorService } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../common/principal';
import { DatabaseService } from '../database/database.service';
import { MetricsService } from './metrics.service';

@ApiExcludeController()
@Public()
@Controller()
export class OpsController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly typeorm: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly db: DatabaseService,
    private readonly metrics: MetricsService,
  ) {}

  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.typeorm.pingCheck('database', { timeout: 3000 }),
      async () => {
        const indicator = this.indicators.check('migrations');
        const pending = await this.db.migrationsPending();
        return pending ? indicator.down({ pending: true }) : indicator.up();
      },
      // Reported, not judged: a pool that cannot hand out a connection already fails the ping above.
      ...(this.db.isPostgres ? [async () => this.indicators.check('pool').up({ ...this.db.poolStats() })] : []),
    ]);
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(await this.metrics.registry.metrics());
  }
}
