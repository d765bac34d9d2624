import { Module } from '@nestjs/common';
import { SecretCipher } from './secret-cipher';

/**
 * Secrets at rest. Its own folder because three features reach it (webhooks encrypt endpoint secrets, uploads
 * encrypt per-request secrets, deliveries decrypt both to sign) and none of them should import another for it.
 */
@Module({
  providers: [SecretCipher],
  exports: [SecretCipher],
})
export class CryptoModule {}
