/**
 * @module primary/origin-health
 * The primary's verdict on every origin member (STON 1.5), pushed whole to the workers on every change:
 *
 *   active --(<Exclusion> consecutive failures reported by workers)--> inactive (passive)
 *   inactive (passive) --(<Recovery> consecutive good probes of Uri, one per Cycle)--> active
 *   inactive (passive) --(an answer to the vhost's all-down trial, at most one per Recovery Cycle)--> active
 *   active --(a <HealthChecker>'s Exclusion consecutive failed checks)--> inactive (that checker)
 *   inactive (checker) --(the same checker's Recovery consecutive good checks)--> active
 *
 * A member is inactive while passive exclusion or any health checker holds it down; each checker and the passive
 * state are judged independently. A failure is what a worker charged to the member (a connectivity failure, or a
 * status `<Exclusion ResCode>` lists); the vhost's last active member is not excluded unless `<Exclusion All="ON">`.
 * While every member of a vhost is down, one request per `<Recovery Cycle>` (for all workers together) may try one
 * passively excluded member (grantTrial): traffic finds a recovered origin without waiting for probes. Every state change is logged once (origin.down / origin.up), counted, and sent to
 * every worker at once (`origin-health`: the complete down set). A reload keeps the state of members that still
 * exist. Runs only in the primary. Invariant: a member has a recovery timer iff it is passively excluded and
 * <Recovery> > 0; it has one check timer per configured health checker.
 */
import type { Config, HealthCheckerConfig, Vhost } from '../config/types.js';
import type { Logger } from '../log.js';
import type { OriginOutcome } from '../origin/health-view.js';
import { acceptsStatus, probeOrigin } from '../origin/probe.js';
import { originTlsOptions } from '../origin/tls.js';
import type { ProbeRequest, ProbeResult } from '../origin/probe.js';
import { dnsRefreshMs, resolveMemberSet } from '../origin/members.js';
import type { ResolvedMember, Resolver } from '../origin/members.js';

const PROBE_USER_AGENT = 'flint-health';

export type MemberState = 'active' | 'inactive';

/** The complete down set, per vhost (only vhosts with a down member), as `origin-health` carries it. */
export type DownSet = Record<string, string[]>;

interface CheckerState {
  readonly config: HealthCheckerConfig;
  /** 1-based position among the vhost's checkers, for logs. */
  readonly index: number;
  down: boolean;
  fails: number;
  goods: number;
  timer: NodeJS.Timeout | null;
  inFlight: boolean;
}

interface Member {
  resolved: ResolvedMember;
  vhost: Vhost;
  /** From an `<Address2>`: workers use it only while every `<Address>` member is down; judged like the others. */
  standby: boolean;
  state: MemberState;
  since: number;
  consecutiveFailures: number;
  passiveDown: boolean;
  recoveryGood: number;
  recoveryTimer: NodeJS.Timeout | null;
  recoveryInFlight: boolean;
  exclusions: number;
  recoveries: number;
  lastError: { reason: string; at: number } | null;
  checkers: CheckerState[];
  /** Until when (epoch ms) an answer reported for this member is its all-down trial's (re-admits it); 0 = none. */
  trialUntil: number;
  /** When this member was last granted a trial (the least recent goes next). */
  lastTrialAt: number;
}

/** The primary's answer to a worker asking for a vhost's all-down trial. */
export interface TrialGrant {
  /** The member to try, or null. */
  readonly member: string | null;
  /** When (epoch ms) the worker may ask again. */
  readonly retryAt: number;
}

/** Slack added to a trial's connect + receive timeouts before its outcome stops counting as the trial's. */
const TRIAL_SLACK_MS = 1000;

/** One member as /monitoring/origin and /stats show it. */
export interface MemberReport {
  readonly member: string;
  readonly address: string;
  /** An `<Address2>` member. */
  readonly standby: boolean;
  readonly state: MemberState;
  readonly since: string;
  readonly consecutiveFailures: number;
  readonly exclusions: number;
  readonly recoveries: number;
  readonly lastError: { readonly reason: string; readonly at: string } | null;
  /** What holds an inactive member down: 'passive' and/or `HealthChecker[i] target`. */
  readonly heldBy: readonly string[];
  /** Seconds until its DNS name is resolved again; 0 for an IP literal. */
  readonly ttl: number;
}

export interface VhostHealthReport {
  readonly vhost: string;
  /** Each configured `<Address>`: Active while any of its members is. */
  readonly addresses: ReadonlyArray<{ readonly address: string; readonly state: MemberState }>;
  /** Each configured `<Address2>` (standby), the same way. */
  readonly standbyAddresses: ReadonlyArray<{ readonly address: string; readonly state: MemberState }>;
  readonly members: readonly MemberReport[];
}

export class OriginHealth {
  readonly #log: Logger;
  readonly #push: (down: DownSet) => void;
  readonly #resolve: Resolver | undefined;
  /** vhost name -> member key -> member. */
  #vhosts = new Map<string, Map<string, Member>>();
  #config: Config;
  /** The config the members and timers were last set up from. */
  #applied: Config | null = null;
  /** Last good IPs per DNS name. */
  readonly #dns = new Map<string, readonly string[]>();
  #dnsTimer: NodeJS.Timeout | null = null;
  /** The period #dnsTimer runs with (the smallest <DnsRefresh> of the vhosts with a DNS name), 0 = no timer. */
  #dnsPeriodMs = 0;
  #started = false;
  #nextDnsAt = 0;
  /** Bumped by every apply(); a resolution started for an older config is dropped. */
  #generation = 0;
  /** vhost name -> when (epoch ms) its next all-down trial may be granted. */
  readonly #nextTrialAt = new Map<string, number>();
  /** What workers were last told (they start with nothing down; a new worker is told on 'hello'). */
  #lastPushed = '{}';
  #closed = false;

  constructor(config: Config, log: Logger, push: (down: DownSet) => void, resolve?: Resolver) {
    this.#config = config;
    this.#log = log;
    this.#push = push;
    this.#resolve = resolve;
  }

  /**
   * Resolves the members of the config and starts probing, then re-resolves DNS names every `<DnsRefresh>` (the
   * smallest of the vhosts that have a DNS name, as the workers' member tables do). Returns at once: a slow DNS
   * server must not hold up the start (nothing is down until members are known anyway).
   */
  start(): void {
    this.#started = true;
    this.#scheduleDns(this.#config);
    this.update(this.#config);
  }

  /** (Re)starts the DNS refresh timer when the config's period differs from the running one. */
  #scheduleDns(config: Config): void {
    if (!this.#started || this.#closed) return;
    const periodMs = dnsRefreshMs(config);
    if (periodMs === this.#dnsPeriodMs) return;
    if (this.#dnsTimer !== null) clearInterval(this.#dnsTimer);
    this.#dnsTimer = null;
    this.#dnsPeriodMs = periodMs;
    if (periodMs <= 0) return;
    this.#dnsTimer = setInterval(() => this.update(this.#config), periodMs);
    this.#dnsTimer.unref();
  }

  /** apply() in the background; a failure is logged, never thrown. */
  update(config: Config): void {
    this.apply(config).catch((error: unknown) => this.#log.error({ event: 'origin.health_error', err: error }, 'origin health update failed'));
  }

  /** Takes a (re)loaded config: members that still exist keep their state; timers restart with the new settings. */
  async apply(config: Config): Promise<void> {
    this.#config = config;
    const generation = ++this.#generation;
    const failures: string[] = [];
    // Every <Address> member, then the <Address2> standbys (a standby that is also an <Address> member is that member).
    const resolved = new Map<string, Array<{ r: ResolvedMember; standby: boolean }>>();
    for (const vhost of config.vhosts) {
      const { active, standby } = await resolveMemberSet(vhost, this.#dns, failures, this.#resolve);
      resolved.set(vhost.name, [...active.map((r) => ({ r, standby: false })), ...standby.map((r) => ({ r, standby: true }))]);
    }
    if (generation !== this.#generation || this.#closed) return;
    if (config !== this.#applied) this.#scheduleDns(config);
    this.#nextDnsAt = Date.now() + this.#dnsPeriodMs;
    if (failures.length > 0) this.#log.warn({ event: 'origin.dns_failed', failures }, 'origin DNS lookup failed; keeping the last known addresses');
    // A new config restarts every timer with its settings; a DNS refresh (same config) leaves surviving members'
    // timers alone, so a check whose Cycle is longer than <DnsRefresh> still runs.
    const reload = config !== this.#applied;
    this.#applied = config;
    const previous = this.#vhosts;
    const started = new Set<Member>();
    const next = new Map<string, Map<string, Member>>();
    for (const vhost of config.vhosts) {
      const members = new Map<string, Member>();
      for (const { r, standby } of resolved.get(vhost.name) ?? []) {
        const kept = previous.get(vhost.name)?.get(r.key);
        if (kept !== undefined && reload) this.#stopTimers(kept);
        const member = kept === undefined ? this.#newMember(r, vhost, standby) : this.#keep(kept, r, vhost, standby);
        if (kept === undefined || reload) started.add(member);
        members.set(r.key, member);
      }
      next.set(vhost.name, members);
    }
    // Members (and vhosts) that left stop being probed.
    for (const [name, members] of previous) {
      for (const [key, member] of members) if (next.get(name)?.get(key) !== member) this.#stopTimers(member);
    }
    this.#vhosts = next;
    for (const member of started) {
      this.#startTimers(member);
      this.#reevaluate(member, reload ? 'config reload' : 'DNS change', false);
    }
    this.#pushDown();
  }

  /** Outcomes a worker observed, in order. Outcomes for unknown members or vhosts are ignored. */
  receive(outcomes: ReadonlyArray<readonly [string, string, OriginOutcome]>): void {
    let changed = false;
    const now = Date.now();
    for (const [vhostName, key, outcome] of outcomes) {
      const member = this.#vhosts.get(vhostName)?.get(key);
      if (member === undefined) continue;
      if (member.passiveDown) {
        changed = this.#trialOutcome(member, outcome, now) || changed;
        continue;
      }
      if (outcome === 'ok') {
        member.consecutiveFailures = 0;
        continue;
      }
      member.consecutiveFailures++;
      member.lastError = { reason: outcome, at: now };
      const options = member.vhost.originOptions;
      if (options.exclusion === 0 || member.consecutiveFailures < options.exclusion) continue;
      // nginx never takes its only server out: without All="ON" the last active member stays in.
      if (!options.exclusionAll && this.#activeCount(member.vhost.name) <= 1 && member.state === 'active') continue;
      member.passiveDown = true;
      member.recoveryGood = 0;
      this.#startRecovery(member);
      changed = this.#reevaluate(member, `${member.consecutiveFailures} consecutive failures (last: ${outcome})`, false) || changed;
    }
    if (changed) this.#pushDown();
  }

  /** An outcome for a passively excluded member: only its trial's counts (an answer re-admits it). */
  #trialOutcome(member: Member, outcome: OriginOutcome, now: number): boolean {
    if (member.trialUntil < now) return false;
    member.trialUntil = 0;
    if (outcome !== 'ok') {
      member.lastError = { reason: `trial: ${outcome}`, at: now };
      return false;
    }
    member.passiveDown = false;
    member.consecutiveFailures = 0;
    if (member.recoveryTimer !== null) clearInterval(member.recoveryTimer);
    member.recoveryTimer = null;
    return this.#reevaluate(member, 'a request sent as the all-down trial was answered', false);
  }

  /**
   * A worker found every member of `vhost` down and asks whether a request may try one. Granted at most once per
   * `<Recovery Cycle>` for the vhost, whichever worker asks, to the passively excluded member (an `<Address>` before
   * an `<Address2>`) tried least recently; never to a member a HealthChecker holds down, nor with `<Recovery>` 0
   * (excluded members are never re-admitted then).
   */
  grantTrial(vhostName: string): TrialGrant {
    const now = Date.now();
    const members = [...(this.#vhosts.get(vhostName)?.values() ?? [])];
    const vhost = members[0]?.vhost;
    if (vhost === undefined) return { member: null, retryAt: now + TRIAL_SLACK_MS };
    const options = vhost.originOptions;
    // The worker's view lags a re-admission by an IPC message: let it ask again once it has the new down set.
    if (members.some((m) => m.state === 'active')) return { member: null, retryAt: now };
    const nextAt = this.#nextTrialAt.get(vhostName) ?? 0;
    if (now < nextAt) return { member: null, retryAt: nextAt };
    const retryAt = now + options.recovery.cycleMs;
    this.#nextTrialAt.set(vhostName, retryAt);
    const candidates = members.filter((m) => m.passiveDown && !m.checkers.some((c) => c.down));
    if (options.recovery.count === 0 || candidates.length === 0) return { member: null, retryAt };
    candidates.sort((a, b) => Number(a.standby) - Number(b.standby) || a.lastTrialAt - b.lastTrialAt);
    const member = candidates[0] as Member;
    member.lastTrialAt = now;
    member.trialUntil = now + options.connectTimeoutMs + options.receiveTimeoutMs + TRIAL_SLACK_MS;
    this.#log.info({ event: 'origin.trial', vhost: vhostName, member: member.resolved.key }, `every origin of ${vhostName} is down: one request tries ${member.resolved.key}`);
    return { member: member.resolved.key, retryAt };
  }

  /** The complete down set now. */
  downSet(): DownSet {
    const down: DownSet = {};
    for (const [vhost, members] of [...this.#vhosts].sort(([a], [b]) => a.localeCompare(b))) {
      const keys = [...members.values()].filter((m) => m.state === 'inactive').map((m) => m.resolved.key).sort();
      if (keys.length > 0) down[vhost] = keys;
    }
    return down;
  }

  /** Per-vhost state for /monitoring/origin (`vhost` null = every vhost); null when `vhost` is unknown. */
  report(vhost: string | null): VhostHealthReport[] | null {
    if (vhost !== null && !this.#vhosts.has(vhost)) return null;
    const now = Date.now();
    const out: VhostHealthReport[] = [];
    for (const v of this.#config.vhosts) {
      if (vhost !== null && v.name !== vhost) continue;
      const members = [...(this.#vhosts.get(v.name)?.values() ?? [])];
      // An address is Active while any member it gave is (an <Address2> that is also an <Address> shares its member).
      const states = (list: Vhost['origins']): VhostHealthReport['addresses'] =>
        list.map((address) => ({
          address: address.text,
          state: members.some((m) => m.resolved.address.text === address.text && m.state === 'active') ? ('active' as const) : ('inactive' as const),
        }));
      out.push({
        vhost: v.name,
        addresses: states(v.origins),
        standbyAddresses: states(v.standbyOrigins),
        members: members.map((m) => this.#memberReport(m, now)),
      });
    }
    return out;
  }

  /** Stops every probe (primary shutdown). */
  close(): void {
    this.#closed = true;
    if (this.#dnsTimer !== null) clearInterval(this.#dnsTimer);
    for (const members of this.#vhosts.values()) for (const member of members.values()) this.#stopTimers(member);
  }

  #memberReport(m: Member, now: number): MemberReport {
    const heldBy = [
      ...(m.passiveDown ? ['passive'] : []),
      ...m.checkers.filter((c) => c.down).map((c) => `HealthChecker[${c.index}] ${c.config.target}`),
    ];
    return {
      member: m.resolved.key,
      address: m.resolved.address.text,
      standby: m.standby,
      state: m.state,
      since: new Date(m.since).toISOString(),
      consecutiveFailures: m.consecutiveFailures,
      exclusions: m.exclusions,
      recoveries: m.recoveries,
      lastError: m.lastError === null ? null : { reason: m.lastError.reason, at: new Date(m.lastError.at).toISOString() },
      heldBy,
      ttl: m.resolved.fromDns ? Math.max(0, Math.ceil((this.#nextDnsAt - now) / 1000)) : 0,
    };
  }

  #newMember(resolved: ResolvedMember, vhost: Vhost, standby: boolean): Member {
    return {
      resolved,
      vhost,
      standby,
      state: 'active',
      since: Date.now(),
      consecutiveFailures: 0,
      passiveDown: false,
      recoveryGood: 0,
      recoveryTimer: null,
      recoveryInFlight: false,
      exclusions: 0,
      recoveries: 0,
      lastError: null,
      checkers: vhost.healthCheckers.map((config, i) => newChecker(config, i + 1)),
      trialUntil: 0,
      lastTrialAt: 0,
    };
  }

  /** A member that survives a reload: its state stays; a checker keeps its state only if its settings did not change. */
  #keep(member: Member, resolved: ResolvedMember, vhost: Vhost, standby: boolean): Member {
    const oldCheckers = member.checkers;
    member.resolved = resolved;
    member.vhost = vhost;
    member.standby = standby;
    member.checkers = vhost.healthCheckers.map((config, i) => {
      const old = oldCheckers[i];
      return old !== undefined && JSON.stringify(old.config) === JSON.stringify(config) ? old : newChecker(config, i + 1);
    });
    return member;
  }

  /** Members of the vhost (standbys included: they still serve when every <Address> is out) that are active. */
  #activeCount(vhost: string): number {
    let count = 0;
    for (const member of this.#vhosts.get(vhost)?.values() ?? []) if (member.state === 'active') count++;
    return count;
  }

  /** Recomputes the member's state; on a change logs it once, counts it and (unless `push` is false) pushes. */
  #reevaluate(member: Member, reason: string, push = true): boolean {
    const state: MemberState = member.passiveDown || member.checkers.some((c) => c.down) ? 'inactive' : 'active';
    if (state === member.state) return false;
    member.state = state;
    member.since = Date.now();
    const fields = { vhost: member.vhost.name, member: member.resolved.key, address: member.resolved.address.text, reason };
    if (state === 'inactive') {
      member.exclusions++;
      this.#log.warn({ event: 'origin.down', ...fields }, `origin ${member.resolved.key} of ${member.vhost.name} is down: ${reason}`);
    } else {
      member.recoveries++;
      this.#log.info({ event: 'origin.up', ...fields }, `origin ${member.resolved.key} of ${member.vhost.name} is back: ${reason}`);
    }
    if (push) this.#pushDown();
    return true;
  }

  #pushDown(): void {
    const down = this.downSet();
    const text = JSON.stringify(down);
    if (text === this.#lastPushed) return;
    this.#lastPushed = text;
    this.#push(down);
  }

  #startTimers(member: Member): void {
    if (member.passiveDown) this.#startRecovery(member);
    for (const checker of member.checkers) {
      checker.timer = setInterval(() => void this.#check(member, checker), checker.config.cycleMs);
      checker.timer.unref();
    }
  }

  #stopTimers(member: Member): void {
    if (member.recoveryTimer !== null) clearInterval(member.recoveryTimer);
    member.recoveryTimer = null;
    for (const checker of member.checkers) {
      if (checker.timer !== null) clearInterval(checker.timer);
      checker.timer = null;
    }
  }

  #startRecovery(member: Member): void {
    const recovery = member.vhost.originOptions.recovery;
    if (member.recoveryTimer !== null || recovery.count === 0) return;
    member.recoveryTimer = setInterval(() => void this.#recoveryProbe(member), recovery.cycleMs);
    member.recoveryTimer.unref();
  }

  async #recoveryProbe(member: Member): Promise<void> {
    if (member.recoveryInFlight || !member.passiveDown) return;
    const options = member.vhost.originOptions;
    const recovery = options.recovery;
    member.recoveryInFlight = true;
    const result = await probeOrigin(this.#probeRequest(member, recovery.uri, options.connectTimeoutMs + options.receiveTimeoutMs, 'status-line'));
    member.recoveryInFlight = false;
    if (this.#closed || !member.passiveDown || member.recoveryTimer === null) return;
    if (acceptsStatus(recovery.resCodes, result.status)) {
      member.recoveryGood++;
      if (member.recoveryGood < recovery.count) return;
      member.passiveDown = false;
      member.consecutiveFailures = 0;
      if (member.recoveryTimer !== null) clearInterval(member.recoveryTimer);
      member.recoveryTimer = null;
      this.#reevaluate(member, `${member.recoveryGood} good recovery probes of ${recovery.uri}`);
      return;
    }
    member.recoveryGood = 0;
    member.lastError = { reason: `recovery probe: ${describe(result)}`, at: Date.now() };
    if (recovery.log) this.#probeFailed(member, `Recovery ${recovery.uri}`, result);
  }

  async #check(member: Member, checker: CheckerState): Promise<void> {
    if (checker.inFlight) return;
    checker.inFlight = true;
    const result = await probeOrigin(this.#probeRequest(member, checker.config.target, checker.config.timeoutMs, 'complete'));
    checker.inFlight = false;
    if (this.#closed || checker.timer === null) return;
    const name = `HealthChecker[${checker.index}] ${checker.config.target}`;
    if (acceptsStatus(checker.config.resCodes, result.status)) {
      checker.fails = 0;
      checker.goods++;
      if (checker.down && checker.goods >= checker.config.recovery) {
        checker.down = false;
        this.#reevaluate(member, `${name}: ${checker.goods} good checks`);
      }
      return;
    }
    checker.goods = 0;
    checker.fails++;
    member.lastError = { reason: `${name}: ${describe(result)}`, at: Date.now() };
    if (checker.config.log) this.#probeFailed(member, name, result);
    if (!checker.down && checker.fails >= checker.config.exclusion) {
      checker.down = true;
      this.#reevaluate(member, `${name}: ${checker.fails} failed checks (last: ${describe(result)})`);
    }
  }

  #probeFailed(member: Member, probe: string, result: ProbeResult): void {
    this.#log.warn(
      { event: 'origin.probe_failed', vhost: member.vhost.name, member: member.resolved.key, probe, status: result.status, error: result.error },
      `probe of origin ${member.resolved.key} failed: ${describe(result)}`,
    );
  }

  /**
   * A probe of `target` (a path, or an http:// URL whose host is sent as Host) to one member. Without a URL the Host
   * is the vhost's <Host> setting, else the address's DNS name, else the vhost name; the address's path prefix applies.
   */
  #probeRequest(member: Member, target: string, timeoutMs: number, until: ProbeRequest['until']): ProbeRequest {
    const { ip, port, address, fromDns } = member.resolved;
    const options = member.vhost.originOptions;
    let path = address.pathPrefix + target;
    let hostHeader = options.hostHeader ?? (fromDns ? address.host : member.vhost.name);
    if (!target.startsWith('/')) {
      const url = new URL(target);
      path = `${url.pathname}${url.search}`;
      hostHeader = url.host;
    }
    const tls = options.tls === null ? null : originTlsOptions(address, options, options.tls);
    return { ip, port, path, hostHeader, userAgent: options.userAgent ?? PROBE_USER_AGENT, timeoutMs, until, tls };
  }
}

function newChecker(config: HealthCheckerConfig, index: number): CheckerState {
  return { config, index, down: false, fails: 0, goods: 0, timer: null, inFlight: false };
}

function describe(result: ProbeResult): string {
  return result.error ?? `status ${result.status}`;
}
