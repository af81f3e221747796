/**
 * Fault injection shared by both emulators. Everything random comes from one seeded PRNG, so a failing
 * fault test can be replayed exactly from its seed.
 */
import { seededRandom } from './random.js';

export interface FaultConfig {
  /** PRNG seed; the same seed and the same request sequence give the same faults. */
  seed?: number;
  /** Probability (0..1) per HTTP status of answering an API request with that error, e.g. `{ 500: 0.1, 429: 0.1 }`. */
  errorRates?: Record<number, number>;
  /** Extra latency added to each API request, in ms: a fixed value or a `[min, max]` range. */
  latencyMs?: number | [number, number];
  /** Outgoing deliveries (push notifications, webhooks). */
  delivery?: {
    /** Probability of silently dropping a delivery. */
    dropRate?: number;
    /** Probability of delivering a second copy. */
    duplicateRate?: number;
    /** Extra delay before delivering, in ms: fixed or `[min, max]` (a range also reorders deliveries). */
    delayMs?: number | [number, number];
  };
}

export class FaultInjector {
  private config: FaultConfig = {};
  private random: () => number = seededRandom(1);

  constructor(config: FaultConfig = {}) {
    this.configure(config);
  }

  /** Replaces the whole fault configuration and reseeds the PRNG. */
  configure(config: FaultConfig): void {
    this.config = structuredClone(config);
    this.random = seededRandom(config.seed ?? 1);
  }

  get current(): FaultConfig {
    return structuredClone(this.config);
  }

  /** The error status to inject for this request, if any. */
  pickError(): number | undefined {
    const rates = this.config.errorRates;
    if (!rates) return undefined;
    const roll = this.random();
    let acc = 0;
    for (const [status, p] of Object.entries(rates)) {
      acc += p;
      if (roll < acc) return Number(status);
    }
    return undefined;
  }

  latency(): number {
    return this.range(this.config.latencyMs);
  }

  /** How to deliver one outgoing message: dropped, or `copies` times after `delayMs`. */
  planDelivery(): { drop: boolean; copies: number; delayMs: number } {
    const d = this.config.delivery ?? {};
    const drop = (d.dropRate ?? 0) > 0 && this.random() < d.dropRate!;
    const copies = (d.duplicateRate ?? 0) > 0 && this.random() < d.duplicateRate! ? 2 : 1;
    return { drop, copies, delayMs: this.range(d.delayMs) };
  }

  private range(v: number | [number, number] | undefined): number {
    if (v === undefined) return 0;
    if (typeof v === 'number') return v;
    return v[0] + Math.floor(this.random() * (v[1] - v[0] + 1));
  }
}
