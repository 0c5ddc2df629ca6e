//! Pages at brotli's best quality, compressed once per version of a page.
//!
//! A phone on 3G paints nothing until the whole page has arrived (the
//! stylesheet is inline, so there is no earlier point), and every kilobyte
//! costs 20 ms at 400 kbit/s. Brotli 11 makes the seed article's page 14 %
//! smaller than the per-request brotli 5 (5,241 against 6,105 bytes), but
//! costs some 30 to 50 ms of CPU per page: far too much on every request to
//! a Raspberry Pi. So the first request for a page gets brotli 5 from
//! `CompressionLayer`, and a background task compresses the same bytes at
//! 11 (`crate::compress`) for every request after it.
//!
//! The key is the page's [`Version`], a 128-bit keyed hash of the page
//! itself, so an edited article or a new stylesheet can never be answered
//! with a stale page: a changed page is a new version, and the old one ages
//! out of the budget. The same version is the page's `ETag`, so a phone
//! revisiting an unchanged page online gets a 304 instead of the page.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::http::HeaderValue;

const QUALITY: u32 = 11;
/// About 200 article pages of 5 KB; the budget bounds memory whatever the
/// size of the library.
const BUDGET_BYTES: usize = 1024 * 1024;
/// A bigger page (the library page of a very large library) is left to the
/// per-request compression: brotli 11 on it would hold a core for seconds.
const MAX_PAGE_BYTES: usize = 256 * 1024;

/// Which version of a page this is: equal for equal pages, and different,
/// but for a chance of 2^-128, for any two different pages. The hash keys
/// are drawn at start-up, so versions change on a restart: one full
/// download per page then, never a stale one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Version(u64, u64);

impl Version {
    /// A weak validator: the identity, brotli 5 and brotli 11 bodies of a
    /// page are the same page.
    pub fn etag(&self) -> HeaderValue {
        // Hex digits and quotes only: always a valid header value.
        HeaderValue::from_str(&format!("W/\"{:016x}{:016x}\"", self.0, self.1))
            .unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""))
    }
}

struct Entry {
    body: Bytes,
    last_used: u64,
}

#[derive(Default)]
struct Slots {
    pages: HashMap<Version, Entry>,
    bytes: usize,
    clock: u64,
    /// One compression at a time: a crawl of a thousand pages must not take
    /// every core. A page asked for meanwhile is tried again on its next
    /// request.
    busy: bool,
}

/// The compressed pages, least recently used evicted first.
pub struct BrotliPages {
    slots: Mutex<Slots>,
    hashers: (RandomState, RandomState),
    budget: usize,
}

impl Default for BrotliPages {
    fn default() -> Self {
        BrotliPages::with_budget(BUDGET_BYTES)
    }
}

impl BrotliPages {
    fn with_budget(budget: usize) -> Self {
        BrotliPages {
            slots: Mutex::default(),
            hashers: (RandomState::new(), RandomState::new()),
            budget,
        }
    }

    /// `page` at brotli 11 if it was compressed already. If not, schedules
    /// that in the background and returns `None`: this request is
    /// compressed on the fly, the next ones are served from here.
    /// `version` is [`BrotliPages::version`] of `page`.
    pub fn get_or_schedule(self: &Arc<Self>, version: Version, page: &str) -> Option<Bytes> {
        if page.len() > MAX_PAGE_BYTES {
            return None;
        }
        let mut slots = self.lock();
        slots.clock += 1;
        let now = slots.clock;
        if let Some(entry) = slots.pages.get_mut(&version) {
            entry.last_used = now;
            return Some(entry.body.clone());
        }
        if slots.busy {
            return None;
        }
        slots.busy = true;
        drop(slots);
        let this = Arc::clone(self);
        let page = page.to_owned();
        tokio::task::spawn_blocking(move || {
            let body = Bytes::from(crate::compress::brotli(page.as_bytes(), QUALITY));
            this.insert(version, body);
        });
        None
    }

    fn insert(&self, version: Version, body: Bytes) {
        let mut slots = self.lock();
        slots.busy = false;
        slots.clock += 1;
        let last_used = slots.clock;
        slots.bytes += body.len();
        if let Some(old) = slots.pages.insert(version, Entry { body, last_used }) {
            slots.bytes -= old.body.len();
        }
        while slots.bytes > self.budget {
            let Some(oldest) = slots
                .pages
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(e) = slots.pages.remove(&oldest) {
                slots.bytes -= e.body.len();
            }
        }
    }

    /// Which version of a page `page` is; see [`Version`].
    pub fn version(&self, page: &str) -> Version {
        Version(self.hashers.0.hash_one(page), self.hashers.1.hash_one(page))
    }

    /// The slots stay usable if a thread panicked holding the lock: every
    /// entry in them is a finished compression.
    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().pages.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn inflate(b: &[u8]) -> String {
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &b[..], &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn get(pages: &Arc<BrotliPages>, page: &str) -> Option<Bytes> {
        pages.get_or_schedule(pages.version(page), page)
    }

    /// Asks until the background compression has landed.
    async fn compressed(pages: &Arc<BrotliPages>, page: &str) -> Bytes {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(b) = get(pages, page) {
                return b;
            }
            assert!(Instant::now() < deadline, "the page was never compressed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn page(n: usize) -> String {
        format!(
            "<!doctype html><title>page {n}</title>{}",
            "<p>words and more words</p>".repeat(200 + n)
        )
    }

    #[tokio::test]
    async fn a_page_is_compressed_once_and_then_served_as_it_was() {
        let pages = Arc::new(BrotliPages::default());
        let p = page(1);
        assert!(
            get(&pages, &p).is_none(),
            "the first request compresses on the fly"
        );
        let b = compressed(&pages, &p).await;
        assert_eq!(inflate(&b), p);
        assert!(b.len() < p.len() / 10);
        // A changed page is a different page, never the old bytes.
        let edited = p.replacen("page 1", "page one", 1);
        assert_eq!(pages.version(&p), pages.version(&p.clone()));
        assert_ne!(pages.version(&p), pages.version(&edited));
        assert_ne!(pages.version(&p).etag(), pages.version(&edited).etag());
        assert!(get(&pages, &edited).is_none());
        assert_eq!(inflate(&compressed(&pages, &edited).await), edited);
    }

    #[tokio::test]
    async fn the_budget_evicts_the_least_recently_used() {
        let pages = Arc::new(BrotliPages::with_budget(64 * 1024));
        let hot = page(0);
        compressed(&pages, &hot).await;
        // Incompressible pages, so a few fill the budget.
        let noise = |n: u64| -> String {
            let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            (0..10_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'!' + (x % 90) as u8)
                })
                .collect()
        };
        for n in 1..=30 {
            compressed(&pages, &noise(n)).await;
            // The hot page stays in use, so it is never the one evicted.
            assert!(get(&pages, &hot).is_some(), "evicted after {n}");
        }
        assert!(pages.lock().bytes <= 64 * 1024);
        assert!(pages.len() < 30, "nothing was evicted");
        assert!(get(&pages, &noise(1)).is_none(), "the oldest stayed");
    }

    #[tokio::test]
    async fn huge_pages_are_left_to_the_per_request_compression() {
        let pages = Arc::new(BrotliPages::default());
        let huge = "x".repeat(MAX_PAGE_BYTES + 1);
        assert!(get(&pages, &huge).is_none());
        assert!(!pages.lock().busy, "nothing was scheduled");
    }
}
