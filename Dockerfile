# syntax=docker/dockerfile:1.7
# Gatehouse broker image: multi-stage (native addons are compiled in the build stage only),
# non-root at run time, `gatehouse serve` as the entrypoint, data and recordings as volumes.
#
#   docker build -t gatehouse .
#   docker run -v $PWD/gatehouse.yaml:/var/lib/gatehouse/gatehouse.yaml:ro \
#              -v gh-data:/var/lib/gatehouse/data -v gh-rec:/var/lib/gatehouse/recordings \
#              -p 2222:2222 -p 8080:8080 -p 9090:9090 gatehouse
#
# The config sits in the broker's home, /var/lib/gatehouse, because relative paths in it resolve
# against the config file's directory: the defaults (`dataDir: data`, `recordings.dir:
# recordings`) then land in the two volumes, and `privateKeyFile: keys/ops` in a `keys/` mount.
# Inside a container the config must listen on 0.0.0.0 (listen.ssh, listen.http, listen.grpc);
# the health check asks HEALTHCHECK_URL (default http://127.0.0.1:8080/healthz).

# Node 26 is the active LTS line; better-sqlite3 12.10+ and node-pty (N-API) build on it.
ARG NODE_IMAGE=node:26-bookworm
ARG NODE_RUNTIME_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# python3, make and g++ come with the full bookworm image: node-gyp builds node-pty,
# better-sqlite3 and ssh2's crypto binding here.
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY proto proto
COPY src src
COPY web-player web-player
COPY scripts scripts
# npm ci runs the install scripts package.json allows (allowScripts) and `prepare` (the build).
RUN npm ci && npm prune --omit=dev

FROM ${NODE_RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid gatehouse --home-dir /var/lib/gatehouse --create-home --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /var/lib/gatehouse/data /var/lib/gatehouse/recordings \
 && chown -R gatehouse:gatehouse /var/lib/gatehouse
WORKDIR /opt/gatehouse
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/proto ./proto
COPY --from=build /src/web-player/dist ./web-player/dist
ENV NODE_ENV=production \
    HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
USER gatehouse
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse/data", "/var/lib/gatehouse/recordings"]
EXPOSE 2222 8080 9090
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch(process.env.HEALTHCHECK_URL).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["tini", "--", "node", "/opt/gatehouse/bin/gatehouse.js", "serve"]
CMD ["--config", "/var/lib/gatehouse/gatehouse.yaml"]
