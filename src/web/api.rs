//! The JSON API: the library for clients that have no automerge yet, and
//! the health check.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::assets::{accept_encoding, accepts_encoding};
use crate::store::Health;

#[derive(Serialize)]
struct LibraryJson<'a> {
    library: &'a str,
    articles: Vec<ArticleJson<'a>>,
}

#[derive(Serialize)]
struct ArticleJson<'a> {
    slug: &'a str,
    title: &'a str,
    author: &'a str,
    lang: &'a str,
    published: &'a str,
    summary: &'a str,
    words: u64,
    url: &'a str,
    notes: &'a str,
}

pub async fn library(State(state): State<AppState>) -> Response {
    let catalog = state.catalog();
    let body = LibraryJson {
        library: &catalog.library_url,
        articles: catalog
            .listed()
            .into_iter()
            .map(|e| ArticleJson {
                slug: &e.slug,
                title: &e.title,
                author: &e.author,
                lang: &e.lang,
                published: &e.published,
                summary: &e.summary,
                words: e.words,
                url: &e.url,
                notes: &e.notes,
            })
            .collect(),
    };
    ([(header::CACHE_CONTROL, "no-cache")], Json(body)).into_response()
}

/// The whole library in one download for a first install (`crate::bundle`),
/// brotli or gzip as the client accepts, built once and shared.
pub async fn bundle(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let catalog = state.catalog();
    let bundle = state.bundle.get(&state.store, &catalog, &state.feed).await;
    let accepts = accept_encoding(&headers);
    let (body, encoding) = if accepts_encoding(accepts, "br") {
        (bundle.brotli.clone(), Some("br"))
    } else if accepts_encoding(accepts, "gzip") {
        (bundle.gzip.clone(), Some("gzip"))
    } else {
        (bundle.identity.clone(), None)
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            // Fetched once per phone; what changed after it comes by sync.
            (header::CACHE_CONTROL, "no-store"),
            (header::VARY, "accept-encoding"),
        ],
        body,
    )
        .into_response();
    if let Some(encoding) = encoding {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

#[derive(Serialize)]
struct HealthJson<'a> {
    status: &'a str,
    articles: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<u64>,
}

pub async fn health(State(state): State<AppState>) -> Response {
    let articles = state.catalog().listed().len();
    let (code, body) = match state.store.health() {
        Health::Ok => (
            StatusCode::OK,
            HealthJson {
                status: "ok",
                articles,
                error: None,
                since: None,
            },
        ),
        Health::Degraded { error, since } => (
            StatusCode::SERVICE_UNAVAILABLE,
            HealthJson {
                status: "degraded",
                articles,
                error: Some(error),
                since: since
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs()),
            },
        ),
    };
    (code, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
