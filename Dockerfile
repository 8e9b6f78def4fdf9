# rsu-edge: multi-stage image for linux/amd64 and linux/arm64.
#   docker buildx build --platform linux/amd64,linux/arm64 -t rsu-edge .
# The build stage compiles TypeScript, generates the CSAE codecs and builds librdkafka (node-rdkafka) and the SM2
# addon (native/sm2) for the target platform; the runtime stage carries only what the daemon needs.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts run after the sources are in place (prepare builds the project).
RUN npm ci --ignore-scripts
COPY . .
RUN npm rebuild node-rdkafka && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/rsu --create-home rsu
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The SM2 addon (runtime/security/openssl-sm2.ts), built by `npm run build` against this Node.
COPY --from=build /app/native/sm2/build/Release/rsu_sm2.node ./native/sm2/build/Release/
COPY --from=build /app/codecs/proto ./codecs/proto
COPY --from=build /app/runtime/map/demo-intersection.geojson ./runtime/map/
USER rsu
ENV NODE_ENV=production RSU_CODEC_CACHE=/var/lib/rsu/codecs
VOLUME ["/var/lib/rsu"]
# Sensor ingest (UDP/TCP 5600, JSON lines 5601), radio receive, metrics (localhost by default: publish with care).
EXPOSE 5600/udp 5600/tcp 5601/tcp
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/runtime/cli/main.js"]
CMD ["run", "--config", "/etc/rsu/rsu.yaml"]
