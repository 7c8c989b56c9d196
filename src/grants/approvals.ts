/**
 * Who may approve and when a grant has enough approvals: the template's requirements are slots
 * (`{ count: 1, role: approver }`, `{ count: 1, group: security }`), each approval fills at most one
 * slot, and one person (aliases included) fills at most one. Pure; a small bipartite matching.
 */
import type { ApproverRequirement, User } from '../domain/types.js';

export interface Slot {
  readonly role?: string;
  readonly group?: string;
}

export function slotsOf(reqs: readonly ApproverRequirement[]): Slot[] {
  const slots: Slot[] = [];
  for (const r of reqs) for (let i = 0; i < r.count; i++) slots.push(r.role !== undefined ? { role: r.role } : { group: r.group as string });
  return slots;
}

export function fits(user: User, slot: Slot): boolean {
  return slot.role !== undefined ? user.roles.includes(slot.role as User['roles'][number]) : user.groups.includes(slot.group as string);
}

/** The largest number of slots the approvers can fill, each approver filling at most one. */
export function filled(slots: readonly Slot[], approvers: readonly User[]): number {
  const owner = new Array<number>(slots.length).fill(-1);
  const tryAssign = (a: number, seen: boolean[]): boolean => {
    for (let s = 0; s < slots.length; s++) {
      if (seen[s] || !fits(approvers[a] as User, slots[s] as Slot)) continue;
      seen[s] = true;
      if (owner[s] === -1 || tryAssign(owner[s] as number, seen)) {
        owner[s] = a;
        return true;
      }
    }
    return false;
  };
  let n = 0;
  for (let a = 0; a < approvers.length; a++) if (tryAssign(a, new Array<boolean>(slots.length).fill(false))) n++;
  return n;
}

/** Would this approver add a filled slot? (An approval that fills nothing is refused.) */
export function adds(slots: readonly Slot[], current: readonly User[], candidate: User): boolean {
  return filled(slots, [...current, candidate]) > filled(slots, current);
}

/**
 * What a grant still needs, for a refusal message: how many more approvals, and every kind of slot
 * a new approver could fill (when one approver could have filled either of two slots, both stay
 * open until the matching is decided by a second approver).
 */
export function describeMissing(slots: readonly Slot[], current: readonly User[]): string {
  const left = slots.length - filled(slots, current);
  if (left <= 0) return 'nothing more';
  const kinds = new Map<string, Slot>();
  for (const s of slots) kinds.set(s.role !== undefined ? `role ${s.role}` : `group ${s.group as string}`, s);
  const open = [...kinds].filter(([, s]) => adds(slots, current, { name: '', keys: [], roles: s.role !== undefined ? [s.role as User['roles'][number]] : [], groups: s.group !== undefined ? [s.group] : [] }));
  return `${left} more: ${open.map(([label]) => label).join(' or ')}`;
}
