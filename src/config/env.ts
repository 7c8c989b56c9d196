/**
 * The environment variables Gatehouse reads, in one place (the only reader of process.env besides
 * ${VAR} interpolation in load.ts). Empty values count as unset.
 */
export interface CliEnv {
  /** GATEHOUSE_SERVER: the broker's gRPC address, host:port. */
  readonly server: string | undefined;
  /** GATEHOUSE_TOKEN: the caller's API token. */
  readonly token: string | undefined;
  /** GATEHOUSE_TLS_CA: PEM CA file; when set, the CLI speaks TLS to the broker. */
  readonly tlsCa: string | undefined;
  /** GATEHOUSE_TLS_CERT / GATEHOUSE_TLS_KEY: the CLI's PEM client certificate and key, for a broker that requires one. */
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** GATEHOUSE_LOG_LEVEL: pino level for the broker (default info). */
  readonly logLevel: string | undefined;
}

const get = (name: string, env: NodeJS.ProcessEnv): string | undefined => {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
};

export function readEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  return {
    server: get('GATEHOUSE_SERVER', env),
    token: get('GATEHOUSE_TOKEN', env),
    tlsCa: get('GATEHOUSE_TLS_CA', env),
    tlsCert: get('GATEHOUSE_TLS_CERT', env),
    tlsKey: get('GATEHOUSE_TLS_KEY', env),
    logLevel: get('GATEHOUSE_LOG_LEVEL', env),
  };
}
