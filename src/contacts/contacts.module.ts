import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { UploadsModule } from '../uploads/uploads.module';
import { CryptoModule } from '../crypto/crypto.module';
import { Contact } from './contact.entity';
import { ContactProcessor } from './contact.processor';
import { ContactsController } from './contacts.controller';
import { ContactsFeatureGuard, JsonOnlyGuard } from './contacts.guards';
import { ContactsRepository } from './contacts.repository';
import { ContactsService } from './contacts.service';

/**
 * Contacts (SPEC §11, Enterprise). Classification goes through the PHONE_CLASSIFIER port the UploadsModule
 * provides (and a host may override); events go through the DeliveriesModule's outbox.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Contact]), AuthModule, CryptoModule, DeliveriesModule, UploadsModule],
  controllers: [ContactsController],
  providers: [ContactsRepository, ContactsService, ContactProcessor, ContactsFeatureGuard, JsonOnlyGuard],
  exports: [ContactsService, ContactProcessor],
})
export class ContactsModule {}
