//! Additive attention masks per [`AttentionMode`].

use candle_core::{Device, Tensor};

use super::config::AttentionMode;
use crate::Result;

/// Whether a query at absolute position `q` may attend to the key at position `k`, given
/// the first action slot at `action_start`.
pub fn allowed(mode: AttentionMode, q: usize, k: usize, action_start: usize) -> bool {
    match mode {
        AttentionMode::Bidirectional => true,
        AttentionMode::Causal => k <= q,
        AttentionMode::Prefix => q >= action_start || k < action_start,
    }
}

/// Additive mask `[q_len, k_len]` (0 allowed, -inf blocked) for queries at absolute positions
/// `q_start..q_start + q_len` over keys `0..k_len`; `None` when nothing is blocked.
pub fn build(
    mode: AttentionMode,
    q_start: usize,
    q_len: usize,
    k_len: usize,
    action_start: usize,
    device: &Device,
) -> Result<Option<Tensor>> {
    let mut data = Vec::with_capacity(q_len * k_len);
    let mut any_blocked = false;
    for q in q_start..q_start + q_len {
        for k in 0..k_len {
            let ok = allowed(mode, q, k, action_start);
            any_blocked |= !ok;
            data.push(if ok { 0.0_f32 } else { f32::NEG_INFINITY });
        }
    }
    if !any_blocked {
        return Ok(None);
    }
    Ok(Some(Tensor::from_vec(data, (q_len, k_len), device)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(mode: AttentionMode) -> Vec<String> {
        // 3 prefix tokens, actions start at 3, 5 tokens total.
        (0..5)
            .map(|q| {
                (0..5)
                    .map(|k| if allowed(mode, q, k, 3) { '1' } else { '.' })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn masks_per_mode() {
        assert!(
            pattern(AttentionMode::Bidirectional)
                .iter()
                .all(|r| r == "11111")
        );
        assert_eq!(
            pattern(AttentionMode::Causal),
            ["1....", "11...", "111..", "1111.", "11111"]
        );
        assert_eq!(
            pattern(AttentionMode::Prefix),
            ["111..", "111..", "111..", "11111", "11111"]
        );
    }

    #[test]
    fn build_returns_none_when_nothing_is_blocked() {
        let dev = Device::Cpu;
        assert!(
            build(AttentionMode::Bidirectional, 0, 5, 5, 3, &dev)
                .unwrap()
                .is_none()
        );
        // Suffix queries of a prefix-mode model after position 3 see everything.
        assert!(
            build(AttentionMode::Prefix, 3, 2, 5, 3, &dev)
                .unwrap()
                .is_none()
        );
        let m = build(AttentionMode::Prefix, 2, 3, 5, 3, &dev)
            .unwrap()
            .unwrap();
        let rows: Vec<Vec<f32>> = m.to_vec2().unwrap();
        assert!(rows[0][3].is_infinite() && rows[0][2] == 0.0);
        assert!(rows[1].iter().all(|v| *v == 0.0));
    }
}
