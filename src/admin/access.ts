/**
 * @module admin/access
 * Who may call the management API: the client address must match an <Allow> entry (address or CIDR), and when a
 * token is configured the request must carry `Authorization: Bearer <token>`. Pure. Runs in the primary.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ManagerConfig, ManagerRole } from '../config/types.js';
import { AddressSet } from '../policy/address-set.js';
import { isDashboardAsset } from '../dashboard/routes.js';

export type AccessDecision = 'allowed' | 'address-denied' | 'token-required';

/** Roles from most to least powerful: a caller matching several <Allow> entries gets the strongest. */
const ROLE_ORDER: readonly ManagerRole[] = ['Admin', 'User', 'Looker'];

/**
 * The role an endpoint needs (STON's Manager roles): User may read monitoring (/monitoring/*, /stats, /metrics,
 * /health, /fleet/stats, /fleet/status, the /dashboard page), Looker only graphs (/graph/*); everything else (/command/*, /conf/*, /dashboard/config-diff) needs Admin.
 */
export function requiredRole(path: string): ManagerRole {
  if (path.startsWith('/graph/')) return 'Looker';
  if (path.startsWith('/monitoring/') || path === '/stats' || path === '/metrics' || path === '/health' || path === '/fleet/stats' || path === '/fleet/status') return 'User';
  // The dashboard page and its files hold no data (dashboard/routes.ts); what it shows needs the role of each call.
  if (isDashboardAsset(path)) return 'User';
  return 'Admin';
}

/** Whether `role` may call an endpoint that needs `needed`. */
export function roleCovers(role: ManagerRole, needed: ManagerRole): boolean {
  return ROLE_ORDER.indexOf(role) <= ROLE_ORDER.indexOf(needed);
}

export class ManagerAccess {
  readonly #allow: AddressSet;
  readonly #token: Buffer | null;
  /** One set per role, for roleOf. */
  readonly #byRole = new Map<ManagerRole, AddressSet>();

  constructor(manager: ManagerConfig) {
    const byRole = new Map<ManagerRole, string[]>();
    manager.allow.forEach((entry, i) => {
      const role = manager.allowRoles[i] ?? 'Admin';
      byRole.set(role, [...(byRole.get(role) ?? []), entry]);
    });
    for (const [role, entries] of byRole) this.#byRole.set(role, new AddressSet(entries));
    this.#allow = new AddressSet(manager.allow);
    this.#token = manager.token === null ? null : Buffer.from(`Bearer ${manager.token}`);
  }

  /** The strongest role of the <Allow> entries matching a peer address, or null when none does. */
  roleOf(remoteAddress: string | undefined): ManagerRole | null {
    if (remoteAddress === undefined) return null;
    for (const role of ROLE_ORDER) if (this.#byRole.get(role)?.has(remoteAddress) === true) return role;
    return null;
  }

  /** Decides for a peer address (as node reports it) and the Authorization header. */
  check(remoteAddress: string | undefined, authorization: string | undefined): AccessDecision {
    if (remoteAddress === undefined) return 'address-denied';
    if (!this.#allow.has(remoteAddress)) return 'address-denied';
    if (this.#token === null) return 'allowed';
    const given = Buffer.from(authorization ?? '');
    return given.length === this.#token.length && timingSafeEqual(given, this.#token) ? 'allowed' : 'token-required';
  }
}
