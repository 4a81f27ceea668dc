// Prints the DistributedService CustomResourceDefinition as the library renders it
// (lib/crd), as YAML on stdout. scripts/test-cluster.sh installs it from here.
import { App, Chart } from 'cdk8s';
import { DistributedServiceCrd } from '../lib/crd';

const app = new App();
new DistributedServiceCrd(new Chart(app, 'crd'), 'distributed-service');
process.stdout.write(app.synthYaml());
