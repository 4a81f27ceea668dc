import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { HEALTH_LUA, health, toLua } from './lua';
import { DistributedServiceCrd, FrpOperator } from '../../lib';
import { DISTRIBUTED_SERVICE_STATES } from '../../lib/operator-metrics-names';

/** A DistributedService at generation 3 with the given status. */
const dsvc = (status: unknown, generation = 3) => ({
  apiVersion: 'frp.io/v1beta1',
  kind: 'DistributedService',
  metadata: { name: 'ollama', namespace: 'ai', generation },
  spec: { serviceType: 'http' },
  status,
});
const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: '2026-12-06T05:00:00Z', observedGeneration: 3 });
const READY = [
  cond('ConfigurationValid', 'True', 'Valid', 'the spec renders'),
  cond('ConfigurationApplied', 'True', 'Applied', '14 objects applied'),
  cond('CertificatesReady', 'True', 'Issued', '2 of 2 certificates ready'),
  cond('BackendsAvailable', 'True', 'Available', '3 of 3 backends ready'),
  cond('Ready', 'True', 'Running', 'frps and 3 frpc members available'),
];

describe('argocd/health.lua in Lua 5.1 (Argo CD\'s resource.customizations.health.frp.io_DistributedService)', () => {
  test('lua5.1 is installed and is Lua 5.1 (Argo CD runs gopher-lua, a Lua 5.1)', () => {
    const r = spawnSync('lua5.1', ['-v'], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/^Lua 5\.1\./);
  });

  test('the JSON to Lua conversion keeps strings byte for byte', () => {
    const r = spawnSync('lua5.1', ['-'], { input: `io.write(${toLua('a"b\\c\nd é')})`, encoding: 'utf8' });
    expect(r.stdout).toBe('a"b\\c\nd é');
  });

  test.each<[string, unknown, string, RegExp]>([
    ['no status yet', undefined, 'Progressing', /^Waiting for the operator to report status/],
    ['status without a state', { conditions: [] }, 'Progressing', /^Waiting for the operator to report status/],
    ['Pending', { state: 'Pending', observedGeneration: 3 }, 'Progressing', /^Pending$/],
    ['Provisioning, certificates not issued', {
      state: 'Provisioning',
      observedGeneration: 3,
      conditions: [cond('ConfigurationValid', 'True', 'Valid', 'ok'), cond('CertificatesReady', 'False', 'Issuing', '0 of 2 certificates ready'), cond('Ready', 'False', 'Provisioning', 'waiting')],
    }, 'Progressing', /^Provisioning: CertificatesReady: 0 of 2 certificates ready$/],
    ['Running', { state: 'Running', observedGeneration: 3, activeBackends: 3, totalBackends: 3, conditions: READY }, 'Healthy', /^Running: 3 of 3 backends active$/],
    ['Running without backend counts', { state: 'Running', observedGeneration: 3, conditions: READY }, 'Healthy', /^Running: frps and 3 frpc members available$/],
    ['Updating', { state: 'Updating', observedGeneration: 3, activeBackends: 3, totalBackends: 3, conditions: [cond('ConfigurationApplied', 'False', 'Applying', 'applying 2 changed objects'), cond('Ready', 'True', 'Running', 'serving')] }, 'Progressing', /^Updating: ConfigurationApplied: applying 2 changed objects$/],
    ['Degraded', { state: 'Degraded', observedGeneration: 3, activeBackends: 1, totalBackends: 3, conditions: [cond('BackendsAvailable', 'False', 'BackendsUnavailable', '1 of 3 backends ready'), cond('Ready', 'False', 'Degraded', 'some backends down')] }, 'Degraded', /^Degraded: BackendsAvailable: 1 of 3 backends ready$/],
    ['Degraded without conditions', { state: 'Degraded', observedGeneration: 3, activeBackends: 1, totalBackends: 3 }, 'Degraded', /^Degraded: 1 of 3 backends active$/],
    ['Failed (an invalid spec)', {
      state: 'Failed',
      observedGeneration: 3,
      conditions: [cond('ConfigurationValid', 'False', 'InvalidSpec', 'spec.backends.endpoints[2].port: must be from 1 to 65535, got 70000'), cond('Ready', 'False', 'Failed', 'invalid spec')],
    }, 'Degraded', /^Failed: ConfigurationValid: spec\.backends\.endpoints\[2\]\.port: must be from 1 to 65535, got 70000$/],
    ['Failed with a reason only', { state: 'Failed', observedGeneration: 3, conditions: [{ type: 'ConfigurationApplied', status: 'False', reason: 'Conflict' }] }, 'Degraded', /^Failed: ConfigurationApplied: Conflict$/],
    ['Terminating', { state: 'Terminating', observedGeneration: 3 }, 'Progressing', /^Terminating: the operator is removing what it applied$/],
    ['stale observedGeneration (Running for generation 2)', { state: 'Running', observedGeneration: 2, conditions: READY }, 'Progressing', /^Waiting for the operator to observe generation 3 \(status is Running, for generation 2\)$/],
    ['stale observedGeneration hides an old Failed', { state: 'Failed', observedGeneration: 2 }, 'Progressing', /for generation 2\)$/],
    ['a state without observedGeneration', { state: 'Running' }, 'Progressing', /^Waiting for the operator to observe generation 3 \(status is Running, of no known generation\)$/],
    ['Running but Ready is False', { state: 'Running', observedGeneration: 3, conditions: [cond('Ready', 'False', 'NotReady', 'frps not available')] }, 'Progressing', /^Running: Ready: frps not available$/],
    ['a state the check does not know', { state: 'Hibernating', observedGeneration: 3 }, 'Unknown', /^Unknown state Hibernating$/],
  ])('%s', (_name, status, expected, message) => {
    const hs = health(dsvc(status));
    expect(hs.status).toBe(expected);
    expect(hs.message).toMatch(message);
  });

  test('a status cdk8s-frp operator really wrote (test/fixtures/operator): Provisioning, certificates not issued yet', () => {
    const written = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'operator', 'distributed-service-provisioning.json'), 'utf8'));
    expect(written.status.state).toBe('Provisioning');
    expect(written.status.observedGeneration).toBe(written.metadata.generation);
    const hs = health(written);
    expect(hs.status).toBe('Progressing');
    // the first False condition in the check's order: CertificatesReady, with the operator's message
    expect(hs.message).toBe(`Provisioning: CertificatesReady: ${written.status.conditions.find((c: any) => c.type === 'CertificatesReady').message}`);
    expect(hs.message).toContain('Certificate opa-frp/frps-tls: not issued yet');
  });

  test('every state of the CRD\'s enum has a health other than Unknown', () => {
    const chart = Testing.chart();
    new DistributedServiceCrd(chart, 'crd');
    const states: string[] = Testing.synth(chart)[0].spec.versions[0].schema.openAPIV3Schema.properties.status.properties.state.enum;
    expect(states).toEqual([...DISTRIBUTED_SERVICE_STATES]);
    for (const state of states) expect(health(dsvc({ state, observedGeneration: 3 })).status).not.toBe('Unknown');
  });

  test('shipped: FrpOperator.argoCdHealthCheck() is the file, and the npm package carries it', () => {
    expect(FrpOperator.argoCdHealthCheck()).toBe(readFileSync(HEALTH_LUA, 'utf8'));
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(__dirname, '..', '..'), encoding: 'utf8' });
    expect(r.status).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    expect(files).toContain('argocd/health.lua');
    expect(files).not.toContain('Dockerfile');
  });

  test('the README shows the argocd-cm key', () => {
    expect(readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8')).toContain('resource.customizations.health.frp.io_DistributedService: |');
  });
});
