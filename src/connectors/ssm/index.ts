/**
 * AWS Systems Manager Session Manager connector: the public surface of connectors/ssm.
 * The simulator lives in ./simulator/ (imported separately, so the broker does not load node-pty
 * for SSM unless the demo asks for it).
 */
export { createSsmConnector, planDocument, DEFAULT_SHELL_DOCUMENT, INTERACTIVE_COMMAND_DOCUMENT, NON_INTERACTIVE_COMMAND_DOCUMENT } from './connector.js';
export type { SsmConnector, SsmConnectorOptions, SsmTargetExtras } from './connector.js';
export type { SsmClientFactory, SsmClientConfig, SsmCredentials } from './api.js';
export { kmsClientDataKeyProvider } from './kms.js';
export { awsKmsDataKeyProvider } from './kms-aws.js';
export type { DataKey, DataKeyProvider, DataKeyRequest, GenerateDataKeyCall } from './kms.js';
export type { RetryPolicy } from './data-channel.js';
