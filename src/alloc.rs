//! Allocator tuning for inference.
//!
//! candle allocates a fresh buffer per tensor op. With glibc's allocator, or mimalloc's
//! default purge delay, the large activation buffers go back to the OS after each op
//! and are faulted in (and zeroed by the kernel) again by the next: measured here as 67k page
//! faults and 10–20% of a `base` forward pass. The `ddvla` binary uses mimalloc (its
//! `#[global_allocator]`) with purging disabled, so freed activations are reused.

/// mimalloc's `mi_option_purge_delay` (v3 `mi_option_e` ordinal; checked by a test).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Disable mimalloc's purging of freed memory. Call at the start of `main`, before other
/// threads exist (mimalloc's option setter is not thread-safe).
#[allow(unsafe_code)]
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` writes one entry of mimalloc's option table; it is called once,
    // from `main` before any thread is spawned, with a valid option ordinal (tested below).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn purge_delay_ordinal_is_right() {
        // SAFETY: read-only option query with a valid ordinal.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // libmimalloc-sys 0.1.49 bundles mimalloc v3, whose options.c sets purge_delay to
        // 1000 ms (the header comment still says 10); -1 once keep_freed_memory has run.
        assert!(
            default == 1000 || default == -1,
            "ordinal 15 is not purge_delay (got {default})"
        );
    }
}
