//! Decode traces: what each round committed and re-masked (the visualisation reads them).

use serde::{Deserialize, Serialize};

/// One slot event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlotEvent {
    /// Slot index in the chunk (`action · D + dim`).
    pub slot: usize,
    /// Action-vocabulary bin of the token.
    pub bin: u32,
    /// Confidence at the event.
    pub confidence: f32,
}

/// One decoding round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundTrace {
    /// Round index (0-based).
    pub round: usize,
    /// Slots committed in this round.
    pub committed: Vec<SlotEvent>,
    /// Slots re-masked in this round (secondary remasking).
    pub remasked: Vec<SlotEvent>,
    /// Slots still masked after the round.
    pub masked_after: usize,
    /// Whether the forward pass reused the prefix KV cache.
    pub cached_pass: bool,
    /// Wall time of the round in microseconds.
    pub duration_us: u64,
}

/// A whole decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DecodeTrace {
    /// Decoder name.
    pub decoder: String,
    /// Backbone forward passes run.
    pub forward_passes: usize,
    /// Rounds, in order.
    pub rounds: Vec<RoundTrace>,
    /// The deadline cut decoding short: the remaining slots were committed from the last logits.
    pub deadline_hit: bool,
    /// The KV cache was approximate (prefix cache under bidirectional attention).
    pub approximate_cache: bool,
}
