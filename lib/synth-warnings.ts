import { IConstruct } from 'constructs';

/**
 * Synth-time warnings: things the library renders as asked that may not do
 * what the user expects (for example a health check on a default path the
 * backend may not have). cdk8s has no equivalent of AWS CDK's
 * `Annotations.of(c).addWarning`, so the library keeps them as construct
 * metadata (type `cdk8s-frp:warning`). `cdk8s-frp render` prints them on
 * stderr; an app that synthesizes itself prints `SynthWarnings.of(app)`.
 *
 * @example
 * for (const w of SynthWarnings.of(app)) console.warn(`warning: ${w}`);
 * app.synth();
 */
export class SynthWarnings {
  /** The construct metadata type of a warning. */
  public static readonly METADATA_TYPE = 'cdk8s-frp:warning';

  /**
   * Adds a warning to a construct (once: the same message twice is kept once).
   * @param scope the construct the warning is about
   * @param message what may not do what the user expects, and what to do about it
   */
  public static add(scope: IConstruct, message: string): void {
    const known = scope.node.metadata.some(m => m.type === SynthWarnings.METADATA_TYPE && m.data === message);
    if (!known) scope.node.addMetadata(SynthWarnings.METADATA_TYPE, message);
  }

  /**
   * Every warning of `scope` and the constructs below it, in tree order, each
   * as `<construct path>: <message>`.
   * @param scope an app, chart or construct
   */
  public static of(scope: IConstruct): string[] {
    const out: string[] = [];
    for (const c of scope.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === SynthWarnings.METADATA_TYPE) out.push(`${c.node.path}: ${m.data}`);
      }
    }
    return out;
  }

  private constructor() {}
}
