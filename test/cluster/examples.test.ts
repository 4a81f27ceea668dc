import { App } from 'cdk8s';
import { describeBundleOnCluster } from './bundles';
import { startCluster } from './cluster';
import { EXAMPLES } from '../helpers/examples';

jest.setTimeout(300_000);
beforeAll(() => startCluster());

// Every example app (examples/main.ts), as `cdk8s synth` renders it.
for (const [name, build] of Object.entries(EXAMPLES)) {
  describeBundleOnCluster(`example ${name}`, () => build(new App()).toJson());
}
