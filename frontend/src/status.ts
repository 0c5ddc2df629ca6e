/**
 * The sync status shown in the header, computed from plain facts so it can be
 * unit-tested without a network: are we connected to the server, and for
 * every document we hold, how do our heads compare with the heads the server
 * last told us it has?
 */

export type SyncState = "synced" | "syncing" | "offline" | "pending";

/** How our copy of one document compares with the server's last known copy. */
export type Relation = "same" | "ahead" | "behind" | "unknown";

export interface DocSync {
  relation: Relation;
  /** The server has said something about this doc since we (re)connected. */
  heard: boolean;
}

export interface StatusInput {
  connected: boolean;
  /** When the current connection was made (ms), null when not connected. */
  connectedSince: number | null;
  now: number;
  docs: readonly DocSync[];
}

/**
 * After connecting, a doc the server has not answered about yet counts as
 * "syncing" for this long; after that we trust the heads comparison alone
 * (a server may legitimately stay silent about a doc it has nothing for).
 */
export const UNHEARD_GRACE_MS = 15_000;

export function compareHeads(
  local: readonly string[],
  remote: readonly string[] | undefined,
  /** Does our document contain all of these heads (i.e. their history)? */
  contains: (heads: readonly string[]) => boolean,
): Relation {
  if (!remote) return "unknown";
  if (local.length === remote.length && local.every((h) => remote.includes(h))) return "same";
  // The server's heads are all in our history and differ from ours: we have
  // changes it lacks. Otherwise it has changes we lack.
  return contains(remote) ? "ahead" : "behind";
}

export function syncState(input: StatusInput): SyncState {
  const ahead = input.docs.some((d) => d.relation === "ahead");
  if (!input.connected) return ahead ? "pending" : "offline";
  const fresh = input.connectedSince !== null && input.now - input.connectedSince < UNHEARD_GRACE_MS;
  const busy = input.docs.some(
    (d) =>
      d.relation === "behind" ||
      d.relation === "ahead" ||
      // Right after (re)connecting, remembered heads may be stale: wait for
      // the server to speak about each doc, or for the grace period to end.
      (fresh && (!d.heard || d.relation === "unknown")),
  );
  return busy ? "syncing" : "synced";
}

export function statusLabel(state: SyncState, lastSynced: number | null, since: (t: number) => string): string {
  switch (state) {
    case "synced":
      return "Online, up to date";
    case "syncing":
      return "Syncing…";
    case "pending":
      return "Offline, changes waiting to be sent";
    case "offline":
      return lastSynced ? `Offline, last synced ${since(lastSynced)}` : "Offline, not synced yet";
  }
}
