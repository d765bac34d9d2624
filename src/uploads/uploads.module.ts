import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { AppConfig } from '../config/app-config';
import { CryptoModule } from '../crypto/crypto.module';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { FilesController } from './files.controller';
import { OfflinePhoneClassifier, PHONE_CLASSIFIER } from './phone/phone-classifier';
import { SignedUrls } from './signed-urls';
import { FILE_STORAGE } from './storage/file-storage';
import { LocalFileStorage } from './storage/local-file-storage';
import { Upload } from './upload.entity';
import { UploadIntake } from './upload-intake';
import { UploadLifecycle } from './upload-lifecycle';
import { UploadProcessor } from './upload.processor';
import { UploadsController } from './uploads.controller';
import { UploadsRepository } from './uploads.repository';
import { UploadsService } from './uploads.service';

/**
 * Uploads (SPEC §4, §7). FILE_STORAGE and PHONE_CLASSIFIER are ports: a host application (or a deployment)
 * overrides them with its own providers; the defaults are local files and the offline classifier.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Upload]), AuthModule, CryptoModule, DeliveriesModule],
  controllers: [UploadsController, FilesController],
  providers: [
    UploadsRepository,
    UploadIntake,
    UploadLifecycle,
    UploadsService,
    UploadProcessor,
    SignedUrls,
    { provide: FILE_STORAGE, inject: [AppConfig], useFactory: (config: AppConfig) => new LocalFileStorage(config.dataDir) },
    { provide: PHONE_CLASSIFIER, useClass: OfflinePhoneClassifier },
  ],
  exports: [UploadsService, UploadProcessor, FILE_STORAGE, PHONE_CLASSIFIER],
})
export class UploadsModule {}
