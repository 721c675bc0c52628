/**
 * @module primary/origin-report
 * Shapes the origin health state (primary/origin-health.ts) for the management API: `/monitoring/origin` in STON's
 * shape (per vhost: Address / Address2 as Active or Inactive, ActiveIP / InactiveIP with their TTLs) plus Flint's
 * per-member detail, and the smaller per-vhost summary /stats carries. Pure; runs in the primary.
 */
import type { MemberReport, VhostHealthReport } from './origin-health.js';

const STATE_NAMES = { active: 'Active', inactive: 'Inactive' } as const;

/** The `/monitoring/origin[?vhost=]` document. */
export function monitoringOriginDocument(reports: readonly VhostHealthReport[]): unknown {
  return {
    method: 'origin',
    status: 'OK',
    result: reports.map((r) => ({
      VirtualHost: r.vhost,
      Address: r.addresses.map((a) => ({ [a.address]: STATE_NAMES[a.state] })),
      Address2: r.standbyAddresses.map((a) => ({ [a.address]: STATE_NAMES[a.state] })),
      ActiveIP: r.members.filter((m) => m.state === 'active').map((m) => ({ [m.member]: m.ttl })),
      InactiveIP: r.members.filter((m) => m.state === 'inactive').map((m) => ({ [m.member]: m.ttl })),
      Members: r.members.map(memberDetail),
    })),
  };
}

function memberDetail(m: MemberReport): Record<string, unknown> {
  return {
    Member: m.member,
    Address: m.address,
    Standby: m.standby,
    State: STATE_NAMES[m.state],
    Since: m.since,
    ConsecutiveFailures: m.consecutiveFailures,
    Exclusions: m.exclusions,
    Recoveries: m.recoveries,
    LastError: m.lastError === null ? null : { Reason: m.lastError.reason, At: m.lastError.at },
    HeldBy: m.heldBy,
  };
}

/** The `origins` field of /stats: per vhost, per member, the same figures in /stats' camelCase. */
export function originSummary(reports: readonly VhostHealthReport[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of reports) {
    out[r.vhost] = {
      active: r.members.filter((m) => m.state === 'active').length,
      inactive: r.members.filter((m) => m.state === 'inactive').length,
      exclusions: r.members.reduce((sum, m) => sum + m.exclusions, 0),
      recoveries: r.members.reduce((sum, m) => sum + m.recoveries, 0),
      members: Object.fromEntries(
        r.members.map((m) => [
          m.member,
          { state: m.state, standby: m.standby, since: m.since, consecutiveFailures: m.consecutiveFailures, exclusions: m.exclusions, recoveries: m.recoveries, lastError: m.lastError },
        ]),
      ),
    };
  }
  return out;
}
