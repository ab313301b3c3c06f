//! The process's memory: the allocator's settings, and free memory handed
//! back to the system after each publish.
//!
//! `plenum` allocates with jemalloc (`tikv-jemallocator`, set in
//! `main.rs`). glibc's malloc, tuned to two arenas, spent about a quarter of
//! a first poll's CPU in malloc and free and another sixth in the kernel,
//! waiting on its arena locks and mapping and unmapping large blocks (see README,
//! Benchmarks); jemalloc's per-thread caches take most allocations without
//! a lock.

/// jemalloc's settings, NUL-terminated, compiled into the binary as
/// [`MALLOC_CONF`] (`_RJEM_MALLOC_CONF` in the environment overrides them,
/// for experiments):
/// - `narenas:1`: one arena, as the daemon's memory matters more than
///   lock-free frees across threads (two arenas peaked about 8 MB higher);
/// - `dirty_decay_ms:100`, `muzzy_decay_ms:0`: freed pages go back to the
///   system a tenth of a second after the program stops using them, not ten
///   seconds; 0 would purge on every free (25 % more CPU in a first poll);
/// - `tcache_max:1024`, `tcache_nslots_small_max:16`: each thread caches
///   at most 16 freed blocks of a size, of up to 1 KiB. sled keeps seven
///   I/O threads waiting for work, and each keeps its cache full of what it
///   freed last: with jemalloc's default caches the daemon held 42–45 MB
///   between polls instead of 36–40 (`bench --day-cycles`), while no cache
///   at all cost a first poll 40 % more CPU.
#[cfg(target_os = "linux")]
const SETTINGS: &[u8] = b"narenas:1,dirty_decay_ms:100,muzzy_decay_ms:0,tcache_max:1024,tcache_nslots_small_max:16\0";

/// [`SETTINGS`] where jemalloc looks for them at start-up: the symbol
/// `malloc_conf`, prefixed `_rjem_` by tikv-jemalloc-sys.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; SETTINGS.len()] = match SETTINGS.first_chunk() {
    Some(all) => all,
    None => unreachable!(),
};

/// Hands the allocator's free pages back to the system now, instead of as
/// they age. A publish renders every affected document at once and frees
/// them; the daemon calls this after each publish.
#[cfg(target_os = "linux")]
pub fn release_free_memory() {
    // "arena.<i>.purge" with i = MALLCTL_ARENAS_ALL (4096): purge every
    // arena. It reads and writes nothing, so every pointer is null.
    // SAFETY: the name is NUL-terminated; jemalloc is linked into every
    // binary built with this library (where it is not the global allocator,
    // its arenas are simply empty), and purging is thread-safe.
    let failed = unsafe {
        tikv_jemalloc_sys::mallctl(c"arena.4096.purge".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0)
    };
    if failed != 0 {
        tracing::debug!(errno = failed, "the allocator did not purge its free pages");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn release_free_memory() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    // The library's tests allocate with jemalloc too, so this one can see
    // what a purge gives back.
    #[global_allocator]
    static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// Resident memory of this process, in bytes.
    fn resident() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        pages * 4096
    }

    /// The value of jemalloc's option `name` (a NUL-terminated mallctl name).
    fn option<T: Default>(name: &std::ffi::CStr) -> T {
        let mut value = T::default();
        let mut size = std::mem::size_of::<T>();
        // SAFETY: the name is NUL-terminated and the buffer is a T of the size given.
        let failed = unsafe { tikv_jemalloc_sys::mallctl(name.as_ptr(), (&raw mut value).cast(), &mut size, std::ptr::null_mut(), 0) };
        assert_eq!(failed, 0, "mallctl {name:?}");
        value
    }

    #[test]
    fn jemalloc_runs_with_the_compiled_in_settings() {
        // What jemalloc read at start-up, not what the symbol holds: a
        // symbol it did not find would leave its defaults (8 arenas here,
        // threads caching blocks of up to 32 KiB).
        assert_eq!(option::<u32>(c"opt.narenas"), 1);
        assert_eq!(option::<usize>(c"opt.tcache_max"), 1024);
        assert_eq!(option::<isize>(c"opt.dirty_decay_ms"), 100);
        assert_eq!(option::<isize>(c"opt.muzzy_decay_ms"), 0);
    }

    #[test]
    fn freed_memory_goes_back_to_the_system_at_once() {
        // 64 MiB in blocks of 16 KiB (blocks of 8 MiB and more have an
        // arena of their own that gives pages back on every free), written
        // so every page is resident, then freed.
        let blocks: Vec<Vec<u8>> = (0..4096).map(|_| vec![1u8; 16 << 10]).collect();
        assert!(std::hint::black_box(&blocks).iter().all(|b| b.iter().step_by(4096).all(|&x| x == 1)));
        let with_block = resident();
        drop(blocks);
        super::release_free_memory();
        let after = resident();
        assert!(
            after + (48 << 20) < with_block,
            "resident memory should fall by most of the 64 MiB: {with_block} bytes with the block, {after} after the purge"
        );
    }
}
