//! The prebuilt frontend (`frontend/dist`), embedded in the binary.
//!
//! Hashed files under `/assets/` never change, so they are cached for a
//! year. The build writes `.br` and `.gz` siblings next to every file; we
//! send the smallest one the client accepts instead of compressing on
//! every request (the automerge wasm is 3.6 MB raw, 0.8 MB as brotli).

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use serde::Deserialize;

#[derive(RustEmbed)]
#[folder = "frontend/dist/"]
#[allow_missing = true]
// The automerge wasm is 3.6 MB raw and almost every browser takes it
// compressed; only its .br and .gz are embedded, and the rare client that
// accepts neither gets the .gz inflated on the fly. Saves 3.6 MB of binary.
#[exclude = "assets/*.wasm"]
struct Dist;

/// The tags that load the app's entry module and its stylesheet (inline),
/// from the Vite manifest. Empty when the frontend was not built: the pages still
/// work, without the app.
#[derive(Debug, Default, Clone)]
pub struct Entry {
    pub tags: String,
}

#[derive(Deserialize)]
struct ManifestChunk {
    file: String,
    #[serde(default)]
    css: Vec<String>,
}

const ENTRY: &str = "src/main.ts";

impl Entry {
    pub fn load() -> Entry {
        let Some(file) = Dist::get(".vite/manifest.json") else {
            tracing::warn!("the frontend build is missing; pages are served without the app");
            return Entry::default();
        };
        let manifest: std::collections::HashMap<String, ManifestChunk> =
            match serde_json::from_slice(&file.data) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, "the frontend manifest is unreadable");
                    return Entry::default();
                }
            };
        let Some(chunk) = manifest.get(ENTRY) else {
            tracing::error!("the frontend manifest has no entry {ENTRY}");
            return Entry::default();
        };
        let mut tags = String::new();
        for css in &chunk.css {
            tags.push_str(&stylesheet(css));
        }
        tags.push_str(&format!(
            "<script type=\"module\" src=\"/{}\"></script>",
            chunk.file
        ));
        Entry { tags }
    }
}

/// The stylesheet, inline: on a first visit over 3G a linked one costs a
/// second round trip (400 ms and more) before any text is painted, and it
/// is 1.6 KB as brotli inside the page. A link if it cannot be inlined.
fn stylesheet(css: &str) -> String {
    match Dist::get(css).map(|f| String::from_utf8(f.data.into_owned())) {
        Some(Ok(text)) if !text.to_ascii_lowercase().contains("</style") => {
            format!("<style>{}</style>\n", text.trim_end())
        }
        _ => format!("<link rel=\"stylesheet\" href=\"/{css}\">\n"),
    }
}

pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    // Embedded files are looked up by name, never on disk, but a request
    // for `../x` or `.vite/…` is refused outright rather than trusted to that.
    if path.is_empty()
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg.starts_with('.'))
        || path.contains('\\')
        || path.ends_with(".br")
        || path.ends_with(".gz")
    {
        return not_found();
    }
    let accepts = accept_encoding(&headers);
    let br = Dist::get(&format!("{path}.br"));
    let gz = Dist::get(&format!("{path}.gz"));
    let (body, encoding) = if let Some(br) = br.filter(|_| accepts_encoding(accepts, "br")) {
        (br.data.into_owned(), Some("br"))
    } else if let Some(gz) = gz.as_ref().filter(|_| accepts_encoding(accepts, "gzip")) {
        (gz.data.to_vec(), Some("gzip"))
    } else if let Some(raw) = Dist::get(path) {
        (raw.data.into_owned(), None)
    } else if let Some(gz) = gz {
        match gunzip(&gz.data) {
            Ok(raw) => (raw, None),
            Err(e) => {
                tracing::error!(path, error = %e, "embedded asset is corrupt");
                return not_found();
            }
        }
    } else {
        return not_found();
    };
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    if let Ok(v) = HeaderValue::from_str(mime.essence_str()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    response
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// The request's Accept-Encoding, or "" when absent or not text.
pub fn accept_encoding(headers: &HeaderMap) -> &str {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Whether an `Accept-Encoding` value allows `coding` (with q > 0).
pub fn accepts_encoding(header: &str, coding: &str) -> bool {
    header.split(',').any(|part| {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim();
        let q_zero = it.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        name.eq_ignore_ascii_case(coding) && !q_zero
    })
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::accepts_encoding;

    #[test]
    fn reads_accept_encoding() {
        assert!(accepts_encoding("gzip, deflate, br", "br"));
        assert!(accepts_encoding("br;q=1.0, gzip;q=0.5", "gzip"));
        assert!(!accepts_encoding("gzip, br;q=0", "br"));
        assert!(!accepts_encoding("", "gzip"));
        assert!(!accepts_encoding("brotli", "br"));
    }
}
