import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asGatehouseError, ErrorCodes, GatehouseError, GrpcStatus, isErrorCode, isGatehouseError, type ErrorCode } from '../../src/domain/errors.js';

/** DESIGN.md / errors.ts: 1 refusal, 2 bad input, 3 needs review, 4 unavailable, 70 internal. */
const EXIT_CODES = new Set([1, 2, 3, 4, 70]);
const CODES = Object.keys(ErrorCodes) as ErrorCode[];

describe('error registry', () => {
  it('has codes of the form GH_ERR_*', () => {
    expect(CODES.length).toBeGreaterThan(30);
    for (const code of CODES) expect(code).toMatch(/^GH_ERR_[A-Z][A-Z0-9_]*[A-Z0-9]$/);
  });

  it.each(CODES)('%s has a description, a gRPC status and a documented exit code', (code) => {
    const spec = ErrorCodes[code];
    expect(spec.description.length).toBeGreaterThan(10);
    expect(spec.description).toMatch(/^[A-Z].*\.$/);
    expect(Object.values(GrpcStatus)).toContain(spec.grpc);
    expect(EXIT_CODES.has(spec.exit)).toBe(true);
  });

  it('maps the codes the edges rely on', () => {
    expect(ErrorCodes.GH_ERR_CONFIG).toMatchObject({ grpc: GrpcStatus.INVALID_ARGUMENT, exit: 2 });
    expect(ErrorCodes.GH_ERR_BAD_INPUT).toMatchObject({ grpc: GrpcStatus.INVALID_ARGUMENT, exit: 2 });
    expect(ErrorCodes.GH_ERR_UNAUTHENTICATED).toMatchObject({ grpc: GrpcStatus.UNAUTHENTICATED, exit: 1 });
    expect(ErrorCodes.GH_ERR_SELF_APPROVAL).toMatchObject({ grpc: GrpcStatus.PERMISSION_DENIED, exit: 1 });
    expect(ErrorCodes.GH_ERR_POLICY_REVIEW).toMatchObject({ exit: 3 });
    expect(ErrorCodes.GH_ERR_CONFLICT).toMatchObject({ grpc: GrpcStatus.ABORTED, exit: 4 });
    expect(ErrorCodes.GH_ERR_INTERNAL).toMatchObject({ grpc: GrpcStatus.INTERNAL, exit: 70 });
  });

  it('is documented in docs/errors.md, code by code', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of CODES) expect(doc, `docs/errors.md lacks ${code}; run npm run docs`).toContain(`\`${code}\``);
  });
});

describe('GatehouseError', () => {
  it('carries its code, details, exit code and gRPC status', () => {
    const cause = new Error('disk');
    const e = new GatehouseError('GH_ERR_RECORDING', 'cannot write', { path: '/x' }, { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('GatehouseError');
    expect(e.code).toBe('GH_ERR_RECORDING');
    expect(e.message).toBe('cannot write');
    expect(e.details).toEqual({ path: '/x' });
    expect(e.cause).toBe(cause);
    expect(e.exitCode).toBe(70);
    expect(e.grpcStatus).toBe(GrpcStatus.INTERNAL);
  });

  it('defaults the message to the registry description', () => {
    expect(new GatehouseError('GH_ERR_NO_GRANT').message).toBe(ErrorCodes.GH_ERR_NO_GRANT.description);
  });

  it('isGatehouseError checks the class and, optionally, the code', () => {
    const e = new GatehouseError('GH_ERR_FORBIDDEN');
    expect(isGatehouseError(e)).toBe(true);
    expect(isGatehouseError(e, 'GH_ERR_FORBIDDEN')).toBe(true);
    expect(isGatehouseError(e, 'GH_ERR_CONFIG')).toBe(false);
    expect(isGatehouseError(Object.assign(new Error('x'), { code: 'GH_ERR_FORBIDDEN' }))).toBe(false);
  });

  it('asGatehouseError keeps existing codes and wraps anything else', () => {
    const e = new GatehouseError('GH_ERR_SSM');
    expect(asGatehouseError(e)).toBe(e);
    const boom = new TypeError('boom');
    const wrapped = asGatehouseError(boom);
    expect(wrapped.code).toBe('GH_ERR_INTERNAL');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.cause).toBe(boom);
    expect(asGatehouseError('text', 'GH_ERR_STORE')).toMatchObject({ code: 'GH_ERR_STORE', message: 'text' });
  });

  it('isErrorCode accepts only registry codes, not inherited properties', () => {
    expect(isErrorCode('GH_ERR_CONFIG')).toBe(true);
    expect(isErrorCode('GH_ERR_NOPE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
  });
});
