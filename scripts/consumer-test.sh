#!/usr/bin/env bash
# Builds a consumer app the way a user would: the packed library (npm pack of
# this checkout) plus cdk8s-plus-33 from the npm registry, type-checked by tsc
# and synthesized. Prints the rendered dir. The consumer's node_modules are
# cached per library version and dependency set in ~/.cache/cdk8s-frp/consumer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${CDK8S_FRP_CACHE:-$HOME/.cache/cdk8s-frp}/consumer"
work="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-frp-consumer-XXXXXX")"
trap 'rm -rf "$work/node_modules"' EXIT
mkdir -p "$cache"
# 1. the package as npm would publish it (jsii-compiled JavaScript + .d.ts)
(cd "$root" && npx projen compile >/dev/null)
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -1)"
# 2. the consumer project
cp "$root/scripts/consumer/main.ts" "$work/main.ts"
cat > "$work/package.json" <<JSON
{ "name": "consumer", "private": true, "version": "0.0.0",
  "dependencies": { "cdk8s-frp": "file:./$tarball", "cdk8s": "^2.70.0", "cdk8s-plus-33": "^2.2.0", "constructs": "^10.4.2" },
  "devDependencies": { "typescript": "~5.9.0", "@types/node": "^20" } }
JSON
cat > "$work/tsconfig.json" <<JSON
{ "compilerOptions": { "target": "ES2022", "module": "commonjs", "strict": true, "esModuleInterop": true, "skipLibCheck": false, "types": ["node"] }, "files": ["main.ts"] }
JSON
cd "$work"
npm install --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
npx tsc -p tsconfig.json
node main.js
node -p "'cdk8s-plus-33@' + require('cdk8s-plus-33/package.json').version" > versions.txt
echo "$work"
