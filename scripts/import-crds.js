#!/usr/bin/env node
// Regenerates imports/<group>.ts from the vendored CRD YAML in crds/ (see
// crds/README.md for origin, versions and license); each API group's files
// are joined into one temporary multi-document file so that `cdk8s import`
// writes every kind of the group into a single module.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const crds = path.resolve(root, 'crds');
const groups = {
  'cert-manager.io': ['certificates.yaml', 'issuers.yaml', 'clusterissuers.yaml'],
  'monitoring.coreos.com': ['servicemonitors.yaml', 'podmonitors.yaml', 'prometheusrules.yaml'],
  // the routes DistributedService renders for expose.gateway (Gateway itself is the user's)
  'gateway.networking.k8s.io': ['httproutes.yaml', 'tcproutes.yaml', 'udproutes.yaml'],
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-frp-import-'));
try {
  for (const [group, files] of Object.entries(groups)) {
    const joined = files
      .map((f) => fs.readFileSync(path.join(crds, group, f), 'utf8').replace(/^---\s*\n/, ''))
      .join('\n---\n');
    const file = path.join(tmp, `${group}.yaml`);
    fs.writeFileSync(file, joined);
    execFileSync('npx', ['cdk8s', 'import', file, '--language', 'typescript', '--output', 'imports',
      '--no-save', '--check-upgrade=false'], { cwd: root, stdio: 'inherit' });
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
