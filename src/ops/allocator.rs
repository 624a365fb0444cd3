//! Keeps the kiosk's memory flat over a day of sessions.
//!
//! glibc serves allocations above its mmap threshold (128 KiB at start) with their own
//! mappings, which go back to the system when freed. But the threshold is *dynamic*: the
//! first time such a block is freed, glibc raises the threshold to that block's size, and
//! from then on camera frames (0.9–2.7 MB each) come from the heap, whose freed space is
//! kept. That showed as a one-time RSS step of ~15 MB at an unpredictable session (10th on
//! one machine, 137th on CI's). Setting the threshold explicitly turns the dynamic rule off,
//! so frame buffers are always returned and RSS stays where the first sessions put it.

/// glibc's own initial value; setting it (any value) is what disables the adjustment.
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Fixes the allocator's mmap threshold. Call once, early in `main`, before threads start.
pub fn pin_mmap_threshold() {
    // An operator's own tuning (glibc reads MALLOC_MMAP_THRESHOLD_ at start) wins.
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the process allocator; it is called before any
    // other thread exists, and a failure (return 0) just leaves glibc's default behaviour.
    unsafe {
        if libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 0 {
            log::warn!("mallopt(M_MMAP_THRESHOLD) refused; memory may step up once");
        }
    }
}
