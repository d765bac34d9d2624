import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { normalizePhone } from './phone-normalizer';

export const PHONE_STATUSES = ['Likely Answer', 'Likely Voicemail', 'Unlikely Answer', 'Unknown'] as const;
export type PhoneStatus = (typeof PHONE_STATUSES)[number];

export interface PhoneClassification {
  /** `mobile`, `landline`, `voip`, `landline_or_mobile` or `unknown`. */
  line_type: string;
  status: PhoneStatus;
}

export interface ClassifyOptions {
  /** The upload's `skip_mobile_lookup`: a classifier backed by a paid carrier lookup skips that call. */
  skipMobileLookup: boolean;
}

/**
 * The port (SPEC §4.6): one classification per E.164 number, in order. A deployment binds its own provider
 * under PHONE_CLASSIFIER (e.g. one calling a carrier lookup through the safe HttpService).
 */
export interface PhoneClassifier {
  classify(e164Numbers: string[], options: ClassifyOptions): Promise<PhoneClassification[]>;
}

export const PHONE_CLASSIFIER = Symbol('PHONE_CLASSIFIER');

const LINE_TYPES: Record<string, string> = {
  MOBILE: 'mobile',
  FIXED_LINE: 'landline',
  FIXED_LINE_OR_MOBILE: 'landline_or_mobile',
  VOIP: 'voip',
};

/**
 * The shipped offline classifier: deterministic, no network. The line type comes from the number's metadata;
 * the status follows from it — mobile → Likely Answer, landline → Likely Voicemail, VoIP → Unlikely Answer —
 * and for numbers the metadata cannot split (most of the NANP is `landline_or_mobile`), a stable bucket from
 * SHA-256 of the number: 0–49 Likely Answer, 50–79 Likely Voicemail, 80–94 Unlikely Answer, 95–99 Unknown.
 * The same number always gets the same answer, on every machine and every run.
 */
@Injectable()
export class OfflinePhoneClassifier implements PhoneClassifier {
  async classify(e164Numbers: string[]): Promise<PhoneClassification[]> {
    return e164Numbers.map(classifyOffline);
  }
}

export function classifyOffline(e164: string): PhoneClassification {
  const parsed = normalizePhone(e164);
  const line_type = (parsed && LINE_TYPES[parsed.type]) ?? 'unknown';
  switch (line_type) {
    case 'mobile':
      return { line_type, status: 'Likely Answer' };
    case 'landline':
      return { line_type, status: 'Likely Voicemail' };
    case 'voip':
      return { line_type, status: 'Unlikely Answer' };
    case 'unknown':
      return { line_type, status: 'Unknown' };
  }
  const bucket = createHash('sha256').update(e164).digest().readUInt16BE(0) % 100;
  const status: PhoneStatus = bucket < 50 ? 'Likely Answer' : bucket < 80 ? 'Likely Voicemail' : bucket < 95 ? 'Unlikely Answer' : 'Unknown';
  return { line_type, status };
}
