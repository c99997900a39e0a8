# dockhand — Slack app that builds, pushes and rolls out container images.
#
#   docker build -t dockhand .
#   docker run -p 3000:3000 -e SLACK_BOT_TOKEN=… -e SLACK_SIGNING_SECRET=… -v dockhand-data:/app/data dockhand
#
# There is no compile step: Node 24 runs the TypeScript sources directly (type stripping), so the image is the
# sources plus production dependencies on the base image's Node 24.
#
# NODE_IMAGE is the base of both stages: any Debian 12 image with Node 24 and npm on PATH and a `node` user, as
# the official node:24-bookworm-slim has; e.g. your mirror of it:
#   docker build --build-arg NODE_IMAGE=mirror.internal/node:24-bookworm-slim -t dockhand .
# CI builds this file on an engine that can pull nothing, with a stand-in made by scripts/test-base-image.sh
# (`docker build --network host --build-arg NODE_IMAGE=dockhand-test/node-base:… .`); test/e2e/image.test.ts
# then runs the image and checks /healthz, the user and the SIGTERM drain.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- production dependencies ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci installs exactly package-lock.json, which lists every platform's optional packages (npm ci refuses a lock
# that lacks one). --omit=dev: the devDependency `node` would download a second Node binary in its install script;
# the base image's Node 24 is the runtime. --ignore-scripts: no production dependency needs an install script
# (ssh2/cpu-features only build optional native accelerators).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# git + ssh: dockhand clones the services' repositories (git@github.com:… or https://…);
# tini is not needed (node handles SIGTERM itself), ca-certificates for https remotes.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
  && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app

# code and dependencies stay root-owned (read-only for the app); only /app/data is writable by `node`
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY commands ./commands
COPY src ./src
# Node's compile cache, filled now (bin/compile-cache.js): every start reads the sources' stripped form from it
# instead of loading Node's TypeScript stripper, which costs about 20 MiB of RSS for the life of the process and
# time at start. Root-owned and read-only for `node`, like the sources it mirrors.
# Node keeps one cache per set of V8 flags, so it is filled with the CMD's flags.
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN node --max-semi-space-size=8 --heap-growing-percent=20 bin/compile-cache.js
# default store is sqlite:./data/dockhand.db — mount a volume on /app/data to keep it (or use postgres://)
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 3000
# slim images have no curl: probe /healthz with Node's fetch
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# node itself is PID 1 and gets SIGTERM: dockhand stops taking requests, drains in-flight work (up to 10 s) and
# exits 0. Not `npm start`: npm exits as soon as it gets the signal (passing it only to the `sh -c` it started), and
# when PID 1 exits the engine kills the rest of the container, so dockhand would never drain.
# --max-semi-space-size=8: V8 sizes its young generation from the machine's memory (64 MiB semi-spaces on a
# 24 GiB host) and grows it to that under the watch's steady allocation; --heap-growing-percent=20: V8 collects the
# old generation once it has grown 20 % past what the last collection kept, not by a factor of its own choosing
# (up to 4, as it was for the watch: old garbage piled up between collections). Together they
# keep a 1,000-service watch under 180 MiB of RSS instead of ~330, at no cost in ack latency (README, "Memory").
# Same flags as `npm start` and the compile-cache step above.
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=20", "src/main.ts"]
