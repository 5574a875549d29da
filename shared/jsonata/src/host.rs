//! What an evaluation needs from the outside world: the time and some
//! entropy. Keeping both behind [`Host`] keeps this crate pure, so the engine
//! decides where they come from (the system, or fixed values in tests and
//! replays).

use std::cell::Cell;

/// The caller's side of an evaluation.
pub trait Host {
    /// Milliseconds since the Unix epoch. Read once per evaluation: JSONata
    /// gives every `$now()` and `$millis()` of one evaluation the same
    /// instant.
    fn now_millis(&self) -> i64;

    /// 64 bits of entropy, read once per evaluation to seed the generator
    /// behind `$random()`, `$uuid()` and `$shuffle()`. The same value gives
    /// the same results, which is what makes an execution replayable.
    fn entropy(&self) -> u64;
}

/// A [`Host`] with a fixed clock and a deterministic entropy stream, for
/// tests and replays; the engine supplies its own for real executions.
#[derive(Debug)]
pub struct FixedHost {
    now_millis: i64,
    state: Cell<u64>,
}

impl FixedHost {
    /// A host whose clock always reads `now_millis` and whose entropy stream
    /// starts from `seed`.
    pub fn new(now_millis: i64, seed: u64) -> Self {
        FixedHost {
            now_millis,
            state: Cell::new(seed),
        }
    }
}

impl Host for FixedHost {
    fn now_millis(&self) -> i64 {
        self.now_millis
    }

    fn entropy(&self) -> u64 {
        let (next, out) = splitmix64(self.state.get());
        self.state.set(next);
        out
    }
}

/// One step of SplitMix64: a tiny, well-distributed generator, used both to
/// expand seeds and as the per-evaluation stream.
pub(crate) fn splitmix64(state: u64) -> (u64, u64) {
    let next = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (next, z ^ (z >> 31))
}

/// Maps 64 random bits to a float in [0, 1) using the top 53 bits, so every
/// value is exactly representable and 1.0 is never produced.
pub(crate) fn unit_float(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_float_stays_in_range() {
        assert_eq!(unit_float(0), 0.0);
        assert!(unit_float(u64::MAX) < 1.0);
    }

    #[test]
    fn fixed_host_is_deterministic_but_varies() {
        let a = FixedHost::new(0, 7);
        let b = FixedHost::new(0, 7);
        let (a1, a2) = (a.entropy(), a.entropy());
        assert_eq!(a1, b.entropy());
        assert_ne!(a1, a2);
    }
}
