//! The `tally` binary; everything is in the library so tests can drive it in-process.

/// Parsing, snapshots and plans allocate and free many large buffers: mimalloc reuses them
/// where glibc's allocator hands pages back to the kernel and faults them in again.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tally_cli::main()
}
