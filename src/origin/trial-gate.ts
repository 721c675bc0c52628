/**
 * @module origin/trial-gate
 * The worker's side of all-down trials: while every member of a vhost is down, one request (GET/HEAD without a body)
 * per `<Recovery Cycle>` may still try one member, so a recovered origin is found by traffic and not only by probes.
 * The primary (primary/origin-health.ts grantTrial) decides, for every worker at once, whether the cycle's trial is
 * still free and which member it goes to; this gate asks it and keeps the IPC bounded: at most one question in
 * flight per vhost, none before the time the last answer named. Requests that may not ask fail at once. Runs in
 * workers.
 */
import type { TrialAsker } from './health-view.js';

/** Longest a request waits for the primary's answer before failing as all-down. */
const ANSWER_TIMEOUT_MS = 1000;

interface Question {
  readonly id: number;
  readonly vhost: string;
  readonly resolve: (member: string | null) => void;
  readonly timer: NodeJS.Timeout;
}

export class TrialGate implements TrialAsker {
  readonly #send: (vhost: string, requestId: number) => void;
  /** vhost -> epoch ms before which this worker does not ask again (the primary's `retryAt`). */
  readonly #quietUntil = new Map<string, number>();
  /** vhost -> the question in flight. */
  readonly #asking = new Map<string, Question>();
  #nextId = 1;

  /** `send` carries an `origin-trial-request` to the primary. */
  constructor(send: (vhost: string, requestId: number) => void) {
    this.#send = send;
  }

  ask(vhost: string): Promise<string | null> | null {
    if (this.#asking.has(vhost) || Date.now() < (this.#quietUntil.get(vhost) ?? 0)) return null;
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answer(id, vhost, null, Date.now() + ANSWER_TIMEOUT_MS), ANSWER_TIMEOUT_MS);
      this.#asking.set(vhost, { id, vhost, resolve, timer });
      this.#send(vhost, id);
    });
  }

  /** The primary's answer (`origin-trial`): the member to try or null, and when this worker may ask again. */
  answer(requestId: number, vhost: string, member: string | null, retryAt: number): void {
    const question = this.#asking.get(vhost);
    if (question === undefined || question.id !== requestId) return;
    this.#asking.delete(vhost);
    clearTimeout(question.timer);
    this.#quietUntil.set(vhost, retryAt);
    question.resolve(member);
  }

  /** Forgets the waits (a reload may change `<Recovery Cycle>`); questions in flight still get their answers. */
  reset(): void {
    this.#quietUntil.clear();
  }
}
