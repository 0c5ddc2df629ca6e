use std::time::Duration;

/// Which documents leave memory, and when (vendor/README.md §2, §17, §25).
///
/// A document no connection is attached to is unloaded once it has been
/// idle for `idle_for`. Only the `keep` most recently active of those wait
/// that long: the others go after `grace`. A first install leaves hundreds
/// of documents no phone has open; kept for `idle_for` they are most of a
/// small server's memory, while the next phone of a group, or a phone
/// back after a dropped connection, mostly wants a few of them. Documents
/// connections are attached to, and those not yet idle for long enough to
/// unload, sleep after `sleep_after` instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnloadPolicy {
    pub idle_for: Duration,
    pub sleep_after: Duration,
    pub keep: usize,
    pub grace: Duration,
}

impl UnloadPolicy {
    /// Unload every document no connection uses after `idle_for`, and
    /// sleep the others after `sleep_after`.
    pub const fn new(idle_for: Duration, sleep_after: Duration) -> Self {
        Self {
            idle_for,
            sleep_after,
            keep: usize::MAX,
            grace: idle_for,
        }
    }

    /// Keep at most `keep` documents no connection uses for the whole
    /// `idle_for`; the less recently active go after `grace`.
    pub const fn keeping(self, keep: usize, grace: Duration) -> Self {
        Self {
            keep,
            grace,
            ..self
        }
    }
}
