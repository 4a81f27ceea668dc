import { App, Chart } from 'cdk8s';
import { FrpOperator, FrpOperatorProps } from '../../lib';

/** The image the tests pin (the default follows the package version, which a release bumps). */
export const TEST_IMAGE = 'ghcr.io/cdk8s-frp/cdk8s-frp:0.1.0';

/** An FrpOperator in a chart of namespace `namespace`; returns the chart, the construct and its manifests. */
export function renderOperator(props: FrpOperatorProps = {}, namespace: string | undefined = 'frp-system') {
  const chart = new Chart(new App(), 'operator', { namespace });
  const operator = new FrpOperator(chart, 'operator', { image: TEST_IMAGE, ...props });
  const manifests: any[] = chart.toJson();
  return { chart, operator, manifests };
}

export const byKind = (manifests: any[], kind: string): any[] => manifests.filter(m => m.kind === kind);
