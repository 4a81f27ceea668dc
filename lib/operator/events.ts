import { randomBytes } from 'crypto';
import type { Kube } from './kube';
import { DS_API_VERSION, DS_KIND } from './plan';

/** reportingController of the controller's events (contract 2). @internal */
export const REPORTING_CONTROLLER = 'frp.io/distributed-controller';

/**
 * Events through events.k8s.io/v1 about DistributedServices. The controller
 * records an event when something changes (never per resync); the same event
 * again (same object, type, reason, note) updates the first one's series
 * (count, lastObservedTime) instead of creating another, as client-go's
 * event broadcaster aggregates.
 * @internal
 */
export class EventRecorder {
  private readonly sent = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(private readonly kube: Kube, private readonly instance: string, private readonly log: (msg: string, fields?: object) => void) {}

  /** Records (or adds to the series of) an event; false when the API server refused it (logged, never thrown). */
  async record(ds: any, type: 'Normal' | 'Warning', reason: string, action: string, note: string): Promise<boolean> {
    const namespace: string = ds.metadata.namespace;
    const key = `${ds.metadata.uid} ${type} ${reason} ${note}`;
    const now = new Date().toISOString().replace(/Z$/, '000Z'); // MicroTime
    try {
      const before = this.sent.get(key);
      if (before) {
        before.count++;
        await this.kube.mergePatch({
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: before.name, namespace: before.namespace },
          series: { count: before.count, lastObservedTime: now },
        } as any);
        return true;
      }
      const name = `${ds.metadata.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
      await this.kube.create({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace },
        eventTime: now,
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.instance,
        action,
        reason,
        type,
        note: note.slice(0, 1024),
        regarding: {
          apiVersion: DS_API_VERSION,
          kind: DS_KIND,
          namespace,
          name: ds.metadata.name,
          uid: ds.metadata.uid,
          resourceVersion: ds.metadata.resourceVersion,
        },
      } as any);
      this.sent.set(key, { name, namespace, count: 1 });
      return true;
    } catch (e) {
      // an event is worth a log line, not a failed reconcile
      this.log('event not recorded', { reason, error: String((e as Error).message ?? e) });
      return false;
    }
  }
}
