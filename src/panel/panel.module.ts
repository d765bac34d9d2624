import { Module } from '@nestjs/common';
import { PanelController } from './panel.controller';

/** The developer panel (SPEC §12), served at /panel. */
@Module({ controllers: [PanelController] })
export class PanelModule {}
