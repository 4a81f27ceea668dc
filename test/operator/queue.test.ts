import { WorkQueue } from '../../lib/operator/queue';

describe('WorkQueue', () => {
  test('a queued key is queued once; keys come out in order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  test('a key added while it is processed is not handed out twice, but again after done', async () => {
    const q = new WorkQueue();
    q.add('k');
    const first = await q.get();
    q.add('k'); // an event during the reconcile
    expect(q.length).toBe(0); // no second worker gets it meanwhile
    let second: string | undefined;
    void q.get().then(k => { second = k; });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first!);
    await Promise.resolve();
    expect(second).toBe('k');
  });

  test('a key added without an event during processing is not queued again after done', async () => {
    const q = new WorkQueue();
    q.add('k');
    q.done((await q.get())!);
    expect(q.length).toBe(0);
  });

  test('a waiting get receives the next add', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
  });

  test('failures back off exponentially up to the limit, forget starts over', () => {
    const q = new WorkQueue(100, 1_000);
    expect([q.when('k'), q.when('k'), q.when('k'), q.when('k'), q.when('k')]).toEqual([100, 200, 400, 800, 1_000]);
    expect(q.retries('k')).toBe(5);
    expect(q.when('other')).toBe(100); // per key
    q.forget('k');
    expect(q.when('k')).toBe(100);
  });

  test('addAfter queues after the delay; an earlier pending delay wins', async () => {
    jest.useFakeTimers();
    try {
      const q = new WorkQueue();
      q.addAfter('k', 1_000);
      q.addAfter('k', 10);
      jest.advanceTimersByTime(999);
      expect(q.length).toBe(0);
      jest.advanceTimersByTime(1);
      expect(q.length).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  test('shutDown releases waiting gets and refuses new keys', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('k');
    expect(await q.get()).toBeUndefined();
  });
});
