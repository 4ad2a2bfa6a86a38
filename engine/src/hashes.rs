//! Deterministic numbers from names: draws, the holdout group and event-id fingerprints
//! all hash the same way on every platform and Rust version (the standard library's
//! hasher does not promise that), so a replay and a restored snapshot agree.

/// FNV-1a, 64-bit, with fields separated so ("ab","c") ≠ ("a","bc").
pub(crate) struct Fnv(u64);

impl Fnv {
    /// A fresh hash.
    pub(crate) fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Adds one field.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for b in bytes.iter().chain(std::iter::once(&0xff)) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash so far.
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// SplitMix64's finaliser: spreads FNV's output evenly before taking a remainder.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where (campaign, user) falls in a million: a user is held out when this is below the
/// holdout share in parts per million. The same user is always on the same side.
pub(crate) fn holdout_point(campaign: &str, user: &str) -> u64 {
    let mut h = Fnv::new();
    h.write(b"holdout");
    h.write(campaign.as_bytes());
    h.write(user.as_bytes());
    mix(h.finish()) % 1_000_000
}

/// The key of one experiment's arms: SHA-256 over (campaign, experiment) in a domain of
/// its own, computed once per engine. The arms are independent of the holdout and of
/// each other experiment's arms; the seed plays no part, so the same user is in the
/// same arm in every run (§13.6).
pub(crate) fn experiment_key(campaign: &str, experiment: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"camp experiment arm\0");
    for field in [campaign, experiment] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    let digest = h.finalize();
    digest
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Where `user` falls in a million for the experiment keyed `key`
/// ([`experiment_key`]): the participant gets the variant whose share, the variants'
/// shares laid end to end in order, covers it. XXH3 keyed with the experiment's key:
/// one enrollment hashes only the user's id, a few nanoseconds where a SHA-256 over
/// all three names was a tenth of an experiment's cost at a million users.
pub(crate) fn variant_point(key: u64, user: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(user.as_bytes(), key) % 1_000_000
}

/// A 64-bit fingerprint of an event id, for duplicate detection without keeping the ids.
/// Seeded from the campaign's secret seed ([`crate::random::Seed::fingerprint_key`]), so ids
/// cannot be crafted to collide.
pub(crate) fn fingerprint(seed: u64, id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), seed)
}

/// A 64-bit key of an event field's value, for `limit N per event.FIELD`: seeded like
/// fingerprints, so values cannot be crafted to share a key. A missing value has one
/// key of its own.
pub(crate) fn value_key(seed: u64, value: Option<&camp_plan::Value>) -> u64 {
    match value {
        Some(camp_plan::Value::String(s)) => fingerprint(seed, s),
        Some(v) => fingerprint(seed ^ 0x9e37_79b9_7f4a_7c15, &format!("{v:?}")),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable() {
        // Fixed values: changing them changes every replay's draws and holdout group.
        assert_eq!(holdout_point("c", "u1"), holdout_point("c", "u1"));
        assert_ne!(holdout_point("c", "u1"), holdout_point("c", "u2"));
        let mut a = Fnv::new();
        a.write(b"ab");
        a.write(b"c");
        let mut b = Fnv::new();
        b.write(b"a");
        b.write(b"bc");
        assert_ne!(a.finish(), b.finish());
        assert_eq!(fingerprint(1, "e1"), fingerprint(1, "e1"));
        // Fixed: changing it moves participants between arms of running experiments.
        let (x, y) = (experiment_key("c", "x"), experiment_key("c", "y"));
        assert_eq!(variant_point(x, "u1"), variant_point(x, "u1"));
        assert_ne!(variant_point(x, "u1"), variant_point(y, "u1"));
        assert_ne!(experiment_key("c", "xy"), experiment_key("cx", "y"));
        assert_ne!(fingerprint(1, "e1"), fingerprint(2, "e1"));
    }
}
