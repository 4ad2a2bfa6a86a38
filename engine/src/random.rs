//! The campaign's secret seed and the random choices made from it (language §13.6).
//!
//! Draws and raffles are the only random outcomes. Each choice is HMAC-SHA-256, keyed
//! with the 32-byte seed, over what identifies it: the cause, the user, the triggering
//! event's id or the instant, and the choice's ordinal within its step. A client that
//! picks event ids therefore cannot pick outcomes (it does not know the key), and two
//! draws in one step are independent (their ordinals differ).

use crate::effect::{At, Cause, EventId, UserId};
use camp_plan::Plan;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// The campaign's seed: 32 secret bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed([u8; 32]);

impl fmt::Debug for Seed {
    /// Never prints the secret: only its published hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed(sha256 {})", self.sha256_hex())
    }
}

impl Seed {
    /// A seed of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Seed {
        Seed(bytes)
    }

    /// Exactly 64 hex digits (either case) as the seed's bytes; anything else is `None`.
    pub fn from_hex(text: &str) -> Option<Seed> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let digit = |b: u8| char::from(b).to_digit(16);
            let (hi, lo) = match pair {
                [h, l] => (digit(*h)?, digit(*l)?),
                _ => return None,
            };
            *o = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Seed(out))
    }

    /// What `camp run --seed TEXT` and a scenario's `seed:` mean: 64 hex digits are the
    /// seed itself; any other text's SHA-256 is the seed.
    pub fn from_text(text: &str) -> Seed {
        Seed::from_hex(text).unwrap_or_else(|| Seed(Sha256::digest(text.as_bytes()).into()))
    }

    /// The seed offline runs use when none is given: derived from the plan's source
    /// hash, so the same plan draws the same everywhere.
    pub fn of_plan(plan: &Plan) -> Seed {
        let mut h = Sha256::new();
        h.update(b"camp default seed\0");
        h.update(plan.source_hash.as_bytes());
        Seed(h.finalize().into())
    }

    /// The seed's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The seed as 64 lowercase hex digits (what `camp seed` reveals).
    pub fn hex(&self) -> String {
        hex(&self.0)
    }

    /// SHA-256 of the seed's 32 bytes, as hex: what the daemon publishes before the
    /// campaign, so the revealed seed can be checked after it.
    pub fn sha256_hex(&self) -> String {
        hex(&Sha256::digest(self.0))
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What a random choice is about: its cause, the participant, and the triggering
/// event's id or (with no event) the instant.
#[derive(Debug, Clone, Copy)]
pub struct Choice<'a> {
    /// Why the choice is made (`task:spin`, `raffle:grand_prize`).
    pub cause: &'a Cause,
    /// Who it is for (empty for a choice among participants, like a raffle round).
    pub user: &'a str,
    /// The triggering event, if any.
    pub event: Option<&'a EventId>,
    /// When.
    pub at: At,
}

impl<'a> Choice<'a> {
    /// A choice for `user` with this cause, event and instant.
    pub fn new(cause: &'a Cause, user: &'a UserId, event: Option<&'a EventId>, at: At) -> Self {
        Choice {
            cause,
            user: user.as_str(),
            event,
            at,
        }
    }
}

/// The random choices of one step: the seed, and how many choices the step has made
/// (each choice's ordinal).
#[derive(Debug)]
pub struct Draws<'a> {
    seed: &'a Seed,
    made: &'a mut u32,
}

impl<'a> Draws<'a> {
    /// Choices from `seed`, numbered from `*made` on (the step's counter).
    pub fn new(seed: &'a Seed, made: &'a mut u32) -> Self {
        Draws { seed, made }
    }

    /// A uniform number in `[0, n)` for this choice (0 when `n` is 0). Takes the next
    /// ordinal.
    pub fn below(&mut self, n: u64, choice: &Choice<'_>) -> u64 {
        let ordinal = *self.made;
        *self.made = self.made.saturating_add(1);
        let x = self.word(choice, ordinal);
        // Lemire's multiply-shift: the bias is below n / 2^64.
        u64::try_from((u128::from(x) * u128::from(n)) >> 64).unwrap_or(0)
    }

    /// The first 64 bits of HMAC-SHA-256(seed, choice ‖ ordinal), each field length-
    /// prefixed so that no two different choices share their input.
    fn word(&self, choice: &Choice<'_>, ordinal: u32) -> u64 {
        // HMAC takes a key of any length: a 32-byte key cannot be refused.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.seed.0) else {
            return 0;
        };
        let mut field = |bytes: &[u8]| {
            mac.update(&u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_le_bytes());
            mac.update(bytes);
        };
        field(b"camp choice 1");
        field(choice.cause.to_string().as_bytes());
        field(choice.user.as_bytes());
        match choice.event {
            Some(e) => {
                field(b"event");
                field(e.as_bytes());
            }
            None => {
                field(b"instant");
                field(&choice.at.0.timestamp_micros().to_le_bytes());
            }
        }
        field(&ordinal.to_le_bytes());
        let tag = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        for (o, b) in first.iter_mut().zip(tag.iter()) {
            *o = *b;
        }
        u64::from_be_bytes(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at() -> At {
        At(Utc.with_ymd_and_hms(2027, 1, 1, 8, 0, 0).unwrap())
    }

    #[test]
    fn seeds_read_hex_or_hash_any_other_text() {
        let hex64 = "00".repeat(31) + "ff";
        let s = Seed::from_text(&hex64);
        assert_eq!(s.as_bytes()[31], 0xff);
        assert_eq!(s.hex(), hex64);
        assert_eq!(Seed::from_text(&hex64.to_uppercase()), s);
        // Not 64 hex digits: the text's SHA-256.
        let t = Seed::from_text("launch-2027");
        assert_eq!(
            t.as_bytes(),
            &<[u8; 32]>::from(Sha256::digest(b"launch-2027"))
        );
        assert!(Seed::from_hex("abc").is_none());
        assert!(Seed::from_hex(&"zz".repeat(32)).is_none());
        // The published hash is SHA-256 of the 32 bytes.
        assert_eq!(
            Seed::from_bytes([0; 32]).sha256_hex(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        assert!(!format!("{t:?}").contains(&t.hex()));
    }

    #[test]
    fn ordinals_and_seeds_change_choices_and_the_same_inputs_repeat_them() {
        let cause = Cause::Task("spin".into());
        let user: UserId = "u1".into();
        let event: EventId = "e1".into();
        let choice = Choice::new(&cause, &user, Some(&event), at());
        let seed = Seed::from_text("a");
        let run = |seed: &Seed| {
            let mut made = 0;
            let mut d = Draws::new(seed, &mut made);
            (0..4)
                .map(|_| d.below(u64::MAX, &choice))
                .collect::<Vec<_>>()
        };
        let first = run(&seed);
        assert_eq!(first, run(&seed));
        assert_ne!(first, run(&Seed::from_text("b")));
        let mut distinct = first.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "each ordinal draws anew");
        let mut made = 0;
        assert_eq!(Draws::new(&seed, &mut made).below(0, &choice), 0);
        assert_eq!(made, 1);
    }
}
