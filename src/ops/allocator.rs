//! Keeps the kiosk's memory flat over a day of sessions without slowing the vision.
//!
//! With glibc's defaults RSS stepped up once by ~15 MB at an unpredictable session (13th on
//! one run, 137th on CI's, failing the soak). Two of glibc's adaptive rules make that step
//! random:
//! - the *dynamic mmap threshold*: the first time a mapped block is freed, the threshold
//!   rises to its size, and from then on blocks that size come from the heap, whose freed
//!   space is kept;
//! - *extra arenas*: a thread that finds the arena busy gets a new one (up to 8 per core),
//!   each holding its own freed space — created whenever contention happens to occur.
//!
//! Pinning the threshold low (128 KiB) kept memory flat but made every camera frame and
//! tract tensor a fresh mapping whose pages the kernel zeroes: tracking went from 9.7 to
//! 18 ms per frame and make-photo from 122 to 183 ms in release. So instead the threshold is
//! pinned *high* (no dynamic rule; frames and tensors are reused from the heap, as by
//! default) and there is one arena: memory settles within the first sessions and stays
//! (docs/performance.md has the figures of each mode).

/// Above the largest buffer a session allocates (a 1280×720 RGB frame is 2.7 MB); setting
/// it at all is what disables the dynamic adjustment.
const MMAP_THRESHOLD: i32 = 32 * 1024 * 1024;
/// One arena for all threads: the kiosk's threads allocate a few hundred times a second,
/// far below where the shared lock would matter.
const ARENA_MAX: i32 = 1;

/// Sets the allocator tunables. Call once, early in `main`, before threads start. An
/// operator's own `MALLOC_MMAP_THRESHOLD_` / `MALLOC_ARENA_MAX` (read by glibc at start)
/// win over ours.
pub fn pin_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    for (env, param, value, name) in [
        (
            "MALLOC_MMAP_THRESHOLD_",
            libc::M_MMAP_THRESHOLD,
            MMAP_THRESHOLD,
            "M_MMAP_THRESHOLD",
        ),
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, ARENA_MAX, "M_ARENA_MAX"),
    ] {
        if std::env::var_os(env).is_some() {
            continue;
        }
        // SAFETY: mallopt only sets a tunable of the process allocator; it is called before
        // other threads exist, and a failure (0) just leaves glibc's default behaviour.
        if unsafe { libc::mallopt(param, value) } == 0 {
            log::warn!("mallopt({name}) refused; memory may step up once during the day");
        }
    }
}
