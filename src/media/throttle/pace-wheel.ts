/**
 * @module media/throttle/pace-wheel
 * One timer wheel per worker for every paced response: a ring of TICK_MS slots, each a set of the clients due in
 * it, driven by a single timer that runs only while some client waits. A client that must wait for its bandwidth
 * is put in the slot of its due time (or the last slot, and re-put when it comes round); a client that goes away is
 * taken out in O(1). Thousands of paced clients cost one timer and, per tick, only the clients due then. Runs in
 * workers.
 */

/** A paced client: woken when its slot comes round. `wheelSlot` is the wheel's bookkeeping (-1 = not scheduled). */
export interface WheelClient {
  wheelSlot: number;
  wake(now: number): void;
}

/** Slot width: the pacing granularity (a client wakes at most this late). */
export const TICK_MS = 20;
/** Slots in the ring: waits up to SLOTS x TICK_MS (about 5 s) land directly; longer ones go round again. */
const SLOTS = 256;

export class PaceWheel {
  readonly #slots: Array<Set<WheelClient>> = Array.from({ length: SLOTS }, () => new Set());
  /** Index of the slot being (or next to be) fired, and the time its tick starts. */
  #cursor = 0;
  #cursorAt = 0;
  #size = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Inside #tick: clients re-scheduled by their wake() must not start a second timer or move the cursor. */
  #firing = false;

  /** Clients waiting. */
  get size(): number {
    return this.#size;
  }

  /** Wakes `client` at `dueAt` (performance.now() time) or within TICK_MS after; replaces an earlier schedule. */
  schedule(client: WheelClient, dueAt: number, now: number): void {
    if (client.wheelSlot >= 0) this.cancel(client);
    if (this.#timer === null && !this.#firing) {
      this.#cursorAt = now;
      this.#timer = setTimeout(this.#tick, TICK_MS);
    }
    const ahead = Math.min(SLOTS - 1, Math.max(1, Math.ceil((dueAt - this.#cursorAt) / TICK_MS)));
    const slot = (this.#cursor + ahead) % SLOTS;
    (this.#slots[slot] as Set<WheelClient>).add(client);
    client.wheelSlot = slot;
    this.#size++;
  }

  /** Takes `client` off the wheel (it went away, or is woken otherwise). */
  cancel(client: WheelClient): void {
    if (client.wheelSlot < 0) return;
    if ((this.#slots[client.wheelSlot] as Set<WheelClient>).delete(client)) this.#size--;
    client.wheelSlot = -1;
    if (this.#size === 0 && this.#timer !== null && !this.#firing) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  readonly #tick = (): void => {
    this.#timer = null;
    this.#firing = true;
    const now = performance.now();
    // Fire every slot whose time came (a busy event loop may have skipped ticks).
    while (this.#cursorAt + TICK_MS <= now && this.#size > 0) {
      this.#cursor = (this.#cursor + 1) % SLOTS;
      this.#cursorAt += TICK_MS;
      const due = this.#slots[this.#cursor] as Set<WheelClient>;
      if (due.size === 0) continue;
      this.#slots[this.#cursor] = new Set();
      this.#size -= due.size;
      for (const client of due) {
        client.wheelSlot = -1;
        client.wake(now);
      }
    }
    this.#firing = false;
    if (this.#size > 0) this.#timer = setTimeout(this.#tick, Math.max(1, this.#cursorAt + TICK_MS - now));
    else if (this.#size === 0) this.#cursorAt = now;
  };
}

/** The worker's wheel. */
export const paceWheel = new PaceWheel();
