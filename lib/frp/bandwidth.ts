import { invalid } from './errors';

/** The unit frp accepts in `transport.bandwidthLimit` (FACTS.md §7). */
export enum BandwidthUnit {
  /** Kibibytes per second (frp's "KB" is 1024 bytes). */
  KB = 'KB',
  /** Mebibytes per second (frp's "MB" is 1024 KB). */
  MB = 'MB',
}

/**
 * A bandwidth limit, in the only units frp takes (MB and KB, bytes per second).
 * Gigabytes, which the DistributedService spec allows, are converted to MB.
 */
export class Bandwidth {
  /** A limit in mebibytes per second. */
  public static mebibytes(amount: number): Bandwidth {
    return new Bandwidth(amount, BandwidthUnit.MB);
  }

  /** A limit in kibibytes per second. */
  public static kibibytes(amount: number): Bandwidth {
    return new Bandwidth(amount, BandwidthUnit.KB);
  }

  /** A limit in gibibytes per second, stored as MB (frp has no GB unit). */
  public static gibibytes(amount: number): Bandwidth {
    return new Bandwidth(amount * 1024, BandwidthUnit.MB);
  }

  /**
   * Parses the spec form `<integer>(MB|KB|GB)`, e.g. `"1GB"` (becomes `1024MB`).
   * @param text the limit as written in a DistributedService spec
   * @param field the field path named in the error message
   */
  public static parse(text: string, field: string = 'bandwidth.limit'): Bandwidth {
    const m = /^([0-9]+)(MB|KB|GB)$/.exec(typeof text === 'string' ? text : '');
    if (!m) {
      invalid(undefined, field, `must match ^[0-9]+(MB|KB|GB)$ (for example "10MB"), got ${JSON.stringify(text)}`);
    }
    const amount = Number(m[1]);
    if (m[2] === 'GB') return Bandwidth.gibibytes(amount);
    return m[2] === 'MB' ? Bandwidth.mebibytes(amount) : Bandwidth.kibibytes(amount);
  }

  private constructor(public readonly amount: number, public readonly unit: BandwidthUnit) {
    if (!Number.isFinite(amount) || amount <= 0) {
      invalid(undefined, 'bandwidthLimit', `must be a positive number of ${unit}, got ${amount}`);
    }
  }

  /** The value frp reads, e.g. `"1024MB"`. */
  public toString(): string {
    return `${this.amount}${this.unit}`;
  }
}
