//! The process's memory: the allocator's settings, and free memory handed
//! back to the system after each publish.
//!
//! `plenum` allocates with jemalloc (`tikv-jemallocator`, set in
//! `main.rs`). glibc's malloc, tuned to two arenas, spent about a quarter of
//! a first poll's CPU in malloc and free and another tenth waiting on its
//! arena locks and mapping and unmapping large blocks (see README,
//! Benchmarks); jemalloc's per-thread caches take most allocations without
//! a lock.

/// jemalloc's settings, compiled into the binary (jemalloc reads the
/// symbol `_rjem_malloc_conf` at start-up; `_RJEM_MALLOC_CONF` in the
/// environment overrides them, for experiments):
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
pub const ALLOCATOR_SETTINGS: &str = "narenas:1,dirty_decay_ms:100,muzzy_decay_ms:0,tcache_max:1024,tcache_nslots_small_max:16";

#[cfg(target_os = "linux")]
#[used]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; SETTINGS_BUFFER] = &settings_c_string();

/// Room for [`ALLOCATOR_SETTINGS`] and its NUL.
const SETTINGS_BUFFER: usize = 128;

/// [`ALLOCATOR_SETTINGS`] as the NUL-terminated string jemalloc reads.
const fn settings_c_string() -> [u8; SETTINGS_BUFFER] {
    let settings = ALLOCATOR_SETTINGS.as_bytes();
    assert!(settings.len() < SETTINGS_BUFFER, "ALLOCATOR_SETTINGS must fit in the buffer with its NUL");
    let mut out = [0u8; SETTINGS_BUFFER];
    let mut i = 0;
    while i < settings.len() {
        out[i] = settings[i];
        i += 1;
    }
    out
}

/// Hands the allocator's free pages back to the system now, instead of as
/// they age. A publish renders every affected document at once and frees
/// them; the daemon calls this after each publish.
#[cfg(target_os = "linux")]
pub fn release_free_memory() {
    // "arena.<i>.purge" with i = MALLCTL_ARENAS_ALL (4096): purge every
    // arena. It reads and writes nothing, so every pointer is null.
    // SAFETY: the name is NUL-terminated; jemalloc is the allocator of any
    // binary built with this library (this crate links it), and purging is
    // thread-safe.
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

    #[test]
    fn the_settings_are_what_jemalloc_reads() {
        let conf = super::MALLOC_CONF;
        let end = conf.iter().position(|&b| b == 0).unwrap_or(conf.len());
        assert_eq!(&conf[..end], super::ALLOCATOR_SETTINGS.as_bytes());
        // jemalloc took them: the option it read is the one asked for
        // ("arenas.narenas" counts the arena of blocks of 8 MiB and more too).
        let mut narenas: u32 = 0;
        let mut size = std::mem::size_of::<u32>();
        // SAFETY: "opt.narenas" reads an unsigned int into the buffer given with its size.
        let failed = unsafe {
            tikv_jemalloc_sys::mallctl(c"opt.narenas".as_ptr(), (&mut narenas as *mut u32).cast(), &mut size, std::ptr::null_mut(), 0)
        };
        assert_eq!(failed, 0);
        assert_eq!(narenas, 1, "narenas:1 from the compiled-in settings");
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
