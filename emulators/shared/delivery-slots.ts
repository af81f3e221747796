/**
 * How many deliveries (webhooks, push notifications) an emulator has in flight to one target at a time.
 *
 * Neither Pipedrive's webhook guides nor Google's push notification guide says how many requests they send to
 * one subscription at once; both say only that deliveries can arrive late, twice or out of order. Any real sender
 * delivers through a bounded pool, so the emulators hold at most `DELIVERY_SLOTS_PER_TARGET` deliveries in flight
 * per webhook or channel and queue the rest in order; deliveries still overlap and, with the fault injector's
 * delays, still reorder. Without a bound, one burst (300 activities fanned out to every webhook of a company)
 * opened thousands of sockets at once, client and server end in the same test process, and ran that process out
 * of file descriptors: a test of the test process, not of the receiver.
 *
 * A delivery's timeout starts when it is sent, not while it waits for a slot (the senders time the request).
 */
import { Semaphore } from 'async-mutex';

const DELIVERY_SLOTS_PER_TARGET = 16;

export class DeliverySlots<K> {
  private readonly slots = new Map<K, Semaphore>();

  /** Runs `send` once one of the target's slots is free; the slot is released when it settles. */
  async run<T>(target: K, send: () => Promise<T>): Promise<T> {
    let slots = this.slots.get(target);
    if (!slots) {
      slots = new Semaphore(DELIVERY_SLOTS_PER_TARGET);
      this.slots.set(target, slots);
    }
    try {
      return await slots.runExclusive(send);
    } finally {
      // A target with nothing in flight or waiting is forgotten (channels come and go with every renewal).
      if (slots.getValue() === DELIVERY_SLOTS_PER_TARGET && this.slots.get(target) === slots) this.slots.delete(target);
    }
  }
}
