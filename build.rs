//! Links the `plenum` binary with packed relative relocations (RELR,
//! `-z pack-relative-relocs`) where the toolchain and C library support
//! them (GNU ld 2.38 or later, glibc 2.36 or later).
//!
//! A position-independent executable carries one 24-byte record per
//! pointer the loader must adjust at start: for Plenum about 53 000, a
//! 1.27 MB table that the loader reads at every start, and that then stays
//! resident in the daemon for as long as it runs. Packed, the table takes
//! 18 KB. The binary stays position-independent (ASLR as before).
//!
//! The probe links and runs a small C program with the flag, using the C
//! compiler that rustc links with (`cc`, or `$CC`), so a toolchain or C
//! library without the feature builds as before; so does a cross build,
//! whose probe could not run here.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=PLENUM_NO_PACKED_RELOCS");
    let target = |name: &str| std::env::var(format!("CARGO_CFG_TARGET_{name}")).unwrap_or_default();
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    let wanted = std::env::var_os("PLENUM_NO_PACKED_RELOCS").is_none();
    if wanted && native && target("OS") == "linux" && target("ENV") == "gnu" && links_and_runs_packed() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        // Tests check the binary against what was decided here.
        println!("cargo:rustc-env=PLENUM_PACKED_RELOCS=1");
    }
}

/// Whether a program linked with `-z pack-relative-relocs` builds, without
/// a warning from the linker, and runs.
fn links_and_runs_packed() -> bool {
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else { return false };
    let source = out.join("relr_probe.c");
    let program = out.join("relr_probe");
    // A pointer in writable data, so the program has a relative relocation.
    let code = "static const char *greeting = \"relr\";\nint main(void) { return greeting[0] == 'r' ? 0 : 1; }\n";
    if std::fs::write(&source, code).is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let linked = Command::new(cc)
        // GNU ld before 2.38 only warns of an unknown `-z` option and links
        // unpacked: made an error, it fails the probe instead.
        .args(["-fPIE", "-pie", "-Wl,--fatal-warnings", "-Wl,-z,pack-relative-relocs", "-o"])
        .arg(&program)
        .arg(&source)
        .output()
        .is_ok_and(|o| o.status.success());
    linked && Command::new(&program).status().is_ok_and(|s| s.success())
}
