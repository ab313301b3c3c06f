//! The process's memory: glibc's allocator tuned for a long-running
//! daemon, and free memory handed back to the system after each publish.

/// glibc's allocator, tuned for a daemon that renders documents of hundreds
/// of kilobytes again and again: two arenas instead of eight per core, and
/// blocks of 128 KiB and more mapped on their own, so they go back to the
/// system when freed. Untuned, `plenum run` grew from 115 to 215 MB over 12
/// polls of 72 feeds (`bench --day-cycles 12`); tuned, it stays near 55 MB,
/// and the first `poll-once` of 200 feeds peaks at 58 MB instead of 72.
/// mimalloc was tried and held more (213 MB peak).
///
/// Call it first in `main`, before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; the caller runs it
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

/// Hands the free pages inside the allocator's heaps back to the system.
/// A publish renders every affected document at once and frees them;
/// glibc keeps most of that memory, scattered between live blocks, until
/// asked. The daemon asks after each publish.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim is thread-safe and only returns free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
