import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { ApiError } from '../common/api-error';
import { Public } from '../common/principal';

/**
 * The developer panel (SPEC §12): static files only. The page holds the API key the person pastes and calls the
 * public REST API with it, so the panel itself needs no key (@Public) and never sees one.
 */
const PANEL_HEADERS: Record<string, string> = {
  // No inline script or style anywhere: every script is a module file served from here, styles from panel.css.
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The browser code: src/panel/web when run from sources, dist/panel/web once built (Nest CLI assets). */
const WEB_DIR = join(__dirname, 'web');
/** What /panel/assets/ serves (index.html is /panel itself). */
const ASSET_NAME = /^[a-z0-9-]+\.(js|css|svg)$/;
/** Preact + hooks + htm in one ES module, shipped with the service's own dependencies (no CDN). */
const VENDOR_FILE = join(dirname(require.resolve('htm')), '..', 'preact', 'standalone.module.js');

interface Asset {
  body: Buffer;
  type: string;
}

const readAsset = (path: string): Asset => ({ body: readFileSync(path), type: TYPES[extname(path)] ?? 'application/octet-stream' });

@ApiExcludeController()
@Public()
@Controller('panel')
export class PanelController {
  // Read once at start-up: the files change only with a deploy, and a missing one fails the boot, not a request.
  private readonly page = readAsset(join(WEB_DIR, 'index.html'));
  private readonly vendorModule = readAsset(VENDOR_FILE);
  private readonly assets = new Map(readdirSync(WEB_DIR).filter((f) => ASSET_NAME.test(f)).map((f) => [f, readAsset(join(WEB_DIR, f))]));

  @Get()
  index(@Res() res: Response): void {
    this.send(res, this.page, 'no-store');
  }

  @Get('vendor/preact-htm.js')
  vendor(@Res() res: Response): void {
    this.send(res, this.vendorModule, 'no-cache');
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    const found = this.assets.get(file);
    if (!found) throw ApiError.notFound();
    this.send(res, found, 'no-cache');
  }

  private send(res: Response, asset: Asset, cache: string): void {
    res.set(PANEL_HEADERS);
    res.set('Content-Type', asset.type);
    res.set('Cache-Control', cache);
    res.status(200).send(asset.body);
  }
}
