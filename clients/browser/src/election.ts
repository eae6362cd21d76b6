/**
 * Origin-owner election (after P2P Media Loader v5): when no neighbour holds a chunk, exactly one viewer
 * per chunk fetches it from the origin, the one with the lowest hash(peer id, chunk index) among itself and
 * its neighbours; everyone else waits for that owner's HAVE and pulls the chunk from it, so the swarm pulls
 * about one origin copy instead of one per viewer. Every viewer computes the same ranking from the same
 * inputs, with no messages. Back-ups are ranked by the same hash and step in (rank x back-off) when the
 * owner makes no progress.
 */

/** FNV-1a 32 over the peer id, then a murmur3-style finaliser mixed with the chunk index: fast, synchronous, well spread. */
export function electionHash(peerId: string, chunkIndex: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < peerId.length; i++) {
    h ^= peerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.imul(chunkIndex + 1, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The rank of `self` for `chunkIndex` among `self` and `candidates` (0 = owner). Ties (astronomically rare)
 * break on the peer id so every viewer agrees.
 */
export function ownerRank(self: string, candidates: Iterable<string>, chunkIndex: number): number {
  const mine = electionHash(self, chunkIndex);
  let rank = 0;
  for (const p of candidates) {
    if (p === self) continue;
    const h = electionHash(p, chunkIndex);
    if (h < mine || (h === mine && p < self)) rank++;
  }
  return rank;
}

/** The candidates (self included) ordered owner first. */
export function ranking(self: string, candidates: Iterable<string>, chunkIndex: number): string[] {
  const all = new Set<string>([self, ...candidates]);
  return [...all].sort((a, b) => electionHash(a, chunkIndex) - electionHash(b, chunkIndex) || (a < b ? -1 : a > b ? 1 : 0));
}
