//! Deterministic draws: a pseudo-random fraction from (seed, declaration, instruction).
//!
//! The domain core takes randomness as input (`docs/ARCHITECTURE.md`: no IO, clock or
//! randomness), so the server supplies a seed and every draw can be replayed from the audit
//! record. The fraction is SplitMix64 (Steele, Lea & Flood 2014; the `java.util.SplittableRandom`
//! finaliser) chained over the seed and the two 128-bit ids, reduced to millionths.

use rust_decimal::Decimal;
use uuid::Uuid;

/// Stands in for the instruction id when drawing for random selection (随机布控), so the
/// random draw is independent of every instruction's draw. Not a valid RFC 9562 UUID (its
/// version nibble is 0), so it cannot collide with a real instruction id.
pub const RANDOM_SELECTION_SALT: Uuid = Uuid::from_u128(0x7467_7269_736b_0000_5241_4e44_4f4d_5345);

/// The draw for `(seed, declaration_id, salt)` as a fraction in `[0, 1)` with 6 decimals;
/// `salt` is an instruction id, or [`RANDOM_SELECTION_SALT`] for random selection. A
/// declaration is selected when `draw < rate`: a rate of 1 always selects, 0 never.
pub fn draw(seed: u64, declaration_id: Uuid, salt: Uuid) -> Decimal {
    Decimal::new(
        i64::from(draw_millionths(
            seed,
            declaration_id.as_u128(),
            salt.as_u128(),
        )),
        6,
    )
}

/// The draw in millionths, `0..=999_999`.
pub(crate) fn draw_millionths(seed: u64, declaration: u128, salt: u128) -> u32 {
    let mut h = splitmix64(seed);
    for word in [
        (declaration >> 64) as u64,
        declaration as u64,
        (salt >> 64) as u64,
        salt as u64,
    ] {
        h = splitmix64(h ^ word);
    }
    // Multiply-shift maps the 64-bit word uniformly (to within 2^-44) onto 0..1_000_000.
    ((u128::from(h) * 1_000_000) >> 64) as u32
}

/// SplitMix64 step: add the golden gamma, then the variant-13 finaliser (a bijection on u64).
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_fractions_with_six_decimals() {
        for i in 0..10_000u64 {
            let d = draw(
                i,
                Uuid::from_u128(u128::from(i) * 7919),
                RANDOM_SELECTION_SALT,
            );
            assert!(d >= Decimal::ZERO && d < Decimal::ONE, "{d}");
            assert!(d.scale() == 6);
        }
    }

    #[test]
    fn salt_is_not_an_rfc_uuid() {
        assert_eq!(RANDOM_SELECTION_SALT.get_version_num(), 0);
    }

    #[test]
    fn draws_are_roughly_uniform() {
        let mut buckets = [0u32; 10];
        for i in 0..100_000u64 {
            let m = draw_millionths(42, u128::from(i), 1);
            buckets[(m / 100_000) as usize] += 1;
        }
        for b in buckets {
            assert!((9_500..=10_500).contains(&b), "{buckets:?}");
        }
    }
}
