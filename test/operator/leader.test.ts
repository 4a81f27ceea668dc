import { LeaderElector, LeaseRecord, LeaseSpec, LeaseStore } from '../../lib/operator/leader';

/** A Lease with the API server's optimistic concurrency. */
class MemoryLease implements LeaseStore {
  record?: LeaseRecord;
  private version = 0;
  async get() {
    return this.record && { spec: { ...this.record.spec }, resourceVersion: this.record.resourceVersion };
  }
  async create(spec: LeaseSpec) {
    if (this.record) throw new Error('AlreadyExists');
    this.record = { spec: { ...spec }, resourceVersion: String(++this.version) };
  }
  async update(spec: LeaseSpec, resourceVersion: string) {
    if (this.record?.resourceVersion !== resourceVersion) throw new Error('Conflict');
    this.record = { spec: { ...spec }, resourceVersion: String(++this.version) };
  }
}

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe('leader election on a Lease (client-go semantics)', () => {
  test('two candidates: one leads, the other waits until the Lease expires unrenewed', async () => {
    let now = 1_000_000;
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, 'a', TIMING, () => now);
    const b = new LeaderElector(lease, 'b', TIMING, () => now);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(lease.record!.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    now += 10_000;
    expect(await a.tryAcquireOrRenew()).toBe(true); // renewed
    now += 1_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // b sees the renewed record now
    now += 14_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // 14 s since b saw it change: not expired on b's clock
    now += 2_000; // a has not renewed for 17 s, b has seen no change for 16 s
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(lease.record!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).toBe(false); // and a cannot take it back
  });

  test('two candidates racing on one Lease version: only one update wins', async () => {
    const lease = new MemoryLease();
    const now = () => 5_000_000;
    const results = await Promise.all(['a', 'b', 'c'].map(id => new LeaderElector(lease, id, TIMING, now).tryAcquireOrRenew()));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('a leader that stops releases the Lease: the other takes it at once', async () => {
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, 'a', { ...TIMING, retryPeriodMs: 10 });
    await a.run(() => undefined);
    expect(a.isLeader).toBe(true);
    await a.stop();
    expect(lease.record!.spec.holderIdentity).toBe('');
    const b = new LeaderElector(lease, 'b', { ...TIMING, retryPeriodMs: 10 });
    expect(await b.tryAcquireOrRenew()).toBe(true);
    await b.stop();
  });

  test('a leader that cannot renew for renewDeadline gives up leadership (onLost)', async () => {
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, 'a', { leaseDurationMs: 1_000, renewDeadlineMs: 40, retryPeriodMs: 5 });
    let lost = false;
    await a.run(() => { lost = true; });
    expect(a.isLeader).toBe(true);
    lease.update = async () => { throw new Error('the API server is unreachable'); };
    for (let i = 0; i < 400 && !lost; i++) await new Promise(r => setTimeout(r, 5));
    expect(lost).toBe(true);
    expect(a.isLeader).toBe(false);
    await a.stop();
  });
});
