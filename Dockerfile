# rsu-edge: multi-stage image for linux/amd64 and linux/arm64.
#   docker buildx build --platform linux/amd64,linux/arm64 -t rsu-edge .
# The build stage compiles TypeScript, generates the CSAE codecs and packs the package (`npm pack`: package.json's
# `files` is the one list of what ships); scripts/install-runtime.sh installs that tarball with the lockfile's
# production dependencies, builds librdkafka (node-rdkafka) for the target platform and drops what the runtime
# never loads. The SM2 addon (native/sm2) is built by npm run build against this Node and ships in the tarball.
# The runtime stage is that directory on the Node base image, without the build toolchain.
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# npm ci builds dist/ (prepare) and writes dist/build-info.json (git commit when .git is in the context).
RUN npm ci --no-audit --no-fund \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && scripts/install-runtime.sh /tmp/rsu-edge-*.tgz package-lock.json /app

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/rsu --create-home rsu \
 && install -d -o rsu -g rsu -m 0700 /run/rsu
COPY --from=build /app /app
WORKDIR /app
USER rsu
# State on the volume: the uplink spool (a config without uplink.spool.dir spools to $STATE_DIRECTORY/spool, as
# under systemd's StateDirectory=) and compiled J2735 codecs. The status socket: /run/rsu.
ENV NODE_ENV=production STATE_DIRECTORY=/var/lib/rsu RSU_CODEC_CACHE=/var/lib/rsu/codecs RSU_SOCKET=/run/rsu/rsu.sock
VOLUME ["/var/lib/rsu"]
# Sensor ingest (UDP/TCP 5600, JSON lines 5601), radio receive, metrics (localhost by default: publish with care).
EXPOSE 5600/udp 5600/tcp 5601/tcp
# Healthy while the daemon answers on its status socket.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "/app/dist/runtime/cli/main.js", "status", "--json"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/runtime/cli/main.js"]
CMD ["run", "--config", "/etc/rsu/rsu.yaml"]
