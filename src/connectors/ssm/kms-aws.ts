/** The real KMS data-key source for the encryption handshake: GenerateDataKey with the AWS SDK. */
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { SsmCredentials } from './api.js';
import { kmsClientDataKeyProvider, type DataKeyProvider } from './kms.js';

export function awsKmsDataKeyProvider(credentials?: SsmCredentials): DataKeyProvider {
  const clients = new Map<string, KMSClient>();
  return kmsClientDataKeyProvider((input, region) => {
    let c = clients.get(region);
    if (c === undefined) {
      c = new KMSClient({ region, ...(credentials !== undefined && { credentials }) });
      clients.set(region, c);
    }
    return c.send(new GenerateDataKeyCommand(input));
  });
}
