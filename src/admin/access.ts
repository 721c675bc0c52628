/**
 * @module admin/access
 * Who may call the management API: the client address must match an <Allow> entry (address or CIDR), and when a
 * token is configured the request must carry `Authorization: Bearer <token>`. Pure apart from node:net's
 * BlockList. Runs in the primary.
 */
import { BlockList, isIPv4 } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { ManagerConfig, ManagerRole } from '../config/types.js';
import { addAddressOrRange } from '../policy/address-list.js';

export type AccessDecision = 'allowed' | 'address-denied' | 'token-required';

/** Roles from most to least powerful: a caller matching several <Allow> entries gets the strongest. */
const ROLE_ORDER: readonly ManagerRole[] = ['Admin', 'User', 'Looker'];

/**
 * The role an endpoint needs (STON's Manager roles): User may read monitoring (/monitoring/*, /stats, /metrics,
 * /health), Looker only graphs (/graph/*); everything else (/command/*, /conf/*) needs Admin.
 */
export function requiredRole(path: string): ManagerRole {
  if (path.startsWith('/graph/')) return 'Looker';
  if (path.startsWith('/monitoring/') || path === '/stats' || path === '/metrics' || path === '/health') return 'User';
  return 'Admin';
}

/** Whether `role` may call an endpoint that needs `needed`. */
export function roleCovers(role: ManagerRole, needed: ManagerRole): boolean {
  return ROLE_ORDER.indexOf(role) <= ROLE_ORDER.indexOf(needed);
}

export class ManagerAccess {
  readonly #allow = new BlockList();
  readonly #token: Buffer | null;
  /** One list per role, for roleOf. */
  readonly #byRole = new Map<ManagerRole, BlockList>();

  constructor(manager: ManagerConfig) {
    manager.allow.forEach((entry, i) => {
      const role = manager.allowRoles[i] ?? 'Admin';
      let list = this.#byRole.get(role);
      if (list === undefined) this.#byRole.set(role, (list = new BlockList()));
      addAddressOrRange(list, entry);
      addAddressOrRange(this.#allow, entry);
    });
    this.#token = manager.token === null ? null : Buffer.from(`Bearer ${manager.token}`);
  }

  /** The strongest role of the <Allow> entries matching a peer address, or null when none does. */
  roleOf(remoteAddress: string | undefined): ManagerRole | null {
    if (remoteAddress === undefined) return null;
    const address = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
    for (const role of ROLE_ORDER) if (this.#byRole.get(role)?.check(address, isIPv4(address) ? 'ipv4' : 'ipv6') === true) return role;
    return null;
  }

  /** Decides for a peer address (as node reports it) and the Authorization header. */
  check(remoteAddress: string | undefined, authorization: string | undefined): AccessDecision {
    if (remoteAddress === undefined) return 'address-denied';
    const address = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
    if (!this.#allow.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) return 'address-denied';
    if (this.#token === null) return 'allowed';
    const given = Buffer.from(authorization ?? '');
    return given.length === this.#token.length && timingSafeEqual(given, this.#token) ? 'allowed' : 'token-required';
  }
}
