//! Keeping a small server small: glibc malloc settings, and handing freed
//! memory back to the system after documents are unloaded.
//!
//! glibc gives each thread that allocates its own arena (up to 8 per core)
//! and keeps freed memory in them; samod's actors run on every tokio
//! worker, so after a burst of documents most of that memory would stay
//! with the process long after the documents are gone. Two arenas, and
//! `malloc_trim` after unloads, bring the resident size back near idle.

/// Call once at start-up, before any thread is spawned.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before
    // other threads exist, as glibc asks.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        // Large automerge buffers go to mmap and return to the OS on free.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
    }
}

/// Returns freed heap memory to the system.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
