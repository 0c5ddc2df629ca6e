//! Brotli for bodies compressed once and served many times: the library
//! bundle (`bundle`) and pages (`web::brotli_pages`).

use std::io::Write;

/// `bytes` as brotli at `quality`, with the smallest window that holds them.
pub fn brotli(bytes: &[u8], quality: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, quality, window(bytes.len()));
        // Writing to a Vec cannot fail.
        let _ = w.write_all(bytes);
    }
    out
}

/// The smallest window that holds all of `len` bytes (as a power of two,
/// within brotli's 10 to 24): quality 11's match finder allocates 8 bytes
/// per window byte, so a 4 MB window asks for 32 MB even for a 17 KB page
/// (mostly never touched, but address space and page tables on a Pi), and
/// a window bigger than the input finds nothing more in it.
fn window(len: usize) -> u32 {
    (usize::BITS - len.saturating_sub(1).leading_zeros()).clamp(10, 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_the_whole_input_and_no_more() {
        assert_eq!(window(0), 10);
        assert_eq!(window(1024), 10);
        assert_eq!(window(1025), 11);
        assert_eq!(window(17_000), 15);
        assert_eq!(window(32_768), 15);
        assert_eq!(window(256 * 1024), 18);
        assert_eq!(window(2 * 1024 * 1024), 21);
        assert_eq!(window(usize::MAX), 24);
    }

    #[test]
    fn round_trips() {
        let bytes = b"the same words again and again and again".repeat(100);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &self::brotli(&bytes, 11)[..], &mut out).unwrap();
        assert_eq!(out, bytes);
    }
}
