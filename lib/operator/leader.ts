/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's
 * leaderelection semantics: a candidate takes the Lease when it is free or
 * its holder has not renewed it for leaseDuration (measured on the
 * candidate's own clock from when it last saw the record change, so clock
 * skew between replicas does not matter); the leader renews every
 * retryPeriod and gives up leadership when it could not renew for
 * renewDeadline; updates are optimistic (resourceVersion), so two candidates
 * never both win; on a clean stop the leader releases the Lease.
 * @internal
 */

/** The Lease's spec as stored. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** A Lease as read: spec and resourceVersion. */
export interface LeaseRecord {
  readonly spec: LeaseSpec;
  readonly resourceVersion: string;
}

/** Where the Lease lives (the API server; a map in unit tests). */
export interface LeaseStore {
  get(): Promise<LeaseRecord | undefined>;
  /** Creates it; rejects if it exists. */
  create(spec: LeaseSpec): Promise<void>;
  /** Replaces it if its resourceVersion is still `resourceVersion`; else rejects. */
  update(spec: LeaseSpec, resourceVersion: string): Promise<void>;
}

export interface LeaderElectionTiming {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** client-go's defaults (controller-runtime's too). */
export const DEFAULT_TIMING: LeaderElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** MicroTime, as the API server stores it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private observed?: { record: string; at: number };
  private leading = false;
  private stopped = false;
  private timer?: ReturnType<typeof setTimeout>;
  private lastRenew = 0;

  constructor(
    private readonly store: LeaseStore,
    readonly identity: string,
    private readonly timing: LeaderElectionTiming = DEFAULT_TIMING,
    private readonly now: () => number = Date.now,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * One attempt to take or renew the Lease. Returns whether this candidate
   * holds it afterwards.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const current = await this.store.get();
    const fresh: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timing.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    if (!current) {
      try {
        await this.store.create(fresh);
      } catch {
        return false;
      }
      this.observed = { record: JSON.stringify(fresh), at: now };
      return true;
    }
    const record = JSON.stringify(current.spec);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = current.spec.holderIdentity ?? '';
    const durationMs = (current.spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== this.identity && this.observed.at + durationMs > now) return false;
    const mine = holder === this.identity;
    const next: LeaseSpec = {
      ...current.spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: fresh.leaseDurationSeconds,
      renewTime: fresh.renewTime,
      acquireTime: mine ? current.spec.acquireTime : fresh.acquireTime,
      leaseTransitions: (current.spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    try {
      await this.store.update(next, current.resourceVersion);
    } catch {
      return false;
    }
    this.observed = { record: JSON.stringify(next), at: now };
    return true;
  }

  /**
   * Campaigns until it leads (resolves then), then renews in the background;
   * `onLost` runs once if leadership is lost (the process should stop).
   */
  async run(onLost: () => void): Promise<void> {
    for (;;) {
      if (this.stopped) throw new Error('leader election stopped');
      if (await this.tryAcquireOrRenew().catch(() => false)) break;
      await new Promise(r => { this.timer = setTimeout(r, this.timing.retryPeriodMs); });
    }
    this.leading = true;
    this.lastRenew = this.now();
    const renew = async () => {
      if (this.stopped) return;
      const ok = await this.tryAcquireOrRenew().catch(() => false);
      if (ok) this.lastRenew = this.now();
      if (!ok && this.now() - this.lastRenew >= this.timing.renewDeadlineMs) {
        this.leading = false;
        onLost();
        return;
      }
      this.timer = setTimeout(() => void renew(), this.timing.retryPeriodMs);
    };
    this.timer = setTimeout(() => void renew(), this.timing.retryPeriodMs);
  }

  /** Stops campaigning and renewing; a leader releases the Lease (holder cleared). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const current = await this.store.get().catch(() => undefined);
    if (current?.spec.holderIdentity !== this.identity) return;
    await this.store.update({ ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) }, current.resourceVersion).catch(() => undefined);
  }
}
