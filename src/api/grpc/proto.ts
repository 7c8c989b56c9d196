/** Loads proto/gatehouse.proto once (dynamic loading: the .proto is the single source of truth). */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_PATH = fileURLToPath(new URL('../../../proto/gatehouse.proto', import.meta.url));

let cached: grpc.GrpcObject | undefined;

export function loadProto(): grpc.GrpcObject {
  cached ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }),
  );
  return cached;
}

export function serviceDefinition(): grpc.ServiceDefinition {
  const pkg = (loadProto().gatehouse as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return (pkg.Gatehouse as grpc.ServiceClientConstructor).service;
}

export function clientConstructor(): grpc.ServiceClientConstructor {
  const pkg = (loadProto().gatehouse as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return pkg.Gatehouse as grpc.ServiceClientConstructor;
}
