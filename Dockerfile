# The image of `cdk8s-frp operator` (FrpOperator deploys it; README "The operator").
#   docker build -t ghcr.io/cdk8s-frp/cdk8s-frp:$(node -p 'require("./package.json").version') .
# Stage 1 compiles the library with the project's own toolchain (jsii) and packs it
# as npm would publish it; stage 2 installs only that package and its production
# dependencies (no sources, no dev dependencies) and runs as a non-root user.

# Node 22 LTS, pinned by version (Debian bookworm slim)
FROM node:22.23.3-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# lib/**/*.js in place (jsii), then the package tarball (.npmignore decides what ships)
RUN npx projen compile && npm pack --pack-destination /pkg

FROM node:22.23.3-bookworm-slim
ENV NODE_ENV=production
COPY --from=build /pkg/ /pkg/
# the package, its dependencies and its peer dependencies (cdk8s, cdk8s-plus-28, constructs), production only
RUN npm install --global --omit=dev --no-audit --no-fund /pkg/cdk8s-frp-*.tgz \
  && rm -rf /pkg /root/.npm
# the uid/gid FrpOperator's pods run as (PodSecurity restricted: runAsNonRoot)
USER 65532:65532
ENTRYPOINT ["cdk8s-frp"]
CMD ["operator"]
