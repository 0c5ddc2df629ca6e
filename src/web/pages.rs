//! Pages rendered on the server: complete and readable with JavaScript off.
//! The app takes over after first paint (see frontend/).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::assets::{accept_encoding, accepts_encoding};
use super::html::{Page, escape};
use crate::import::doc_id;
use crate::render::{markdown_to_html, text_direction};
use crate::schema::article;

/// What the app needs to take over a page, in `<script id="glosa-data">`.
#[derive(Serialize)]
struct PageData<'a> {
    page: &'a str,
    library: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    slug: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

pub async fn library(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let catalog = state.catalog();
    let mut main = String::from("<h1>Library</h1>\n");
    let listed = catalog.listed();
    if listed.is_empty() {
        main.push_str("<p>No articles yet.</p>\n");
    } else {
        main.push_str("<ul class=\"articles\">\n");
        for e in listed {
            main.push_str(&format!(
                "<li><h2><a href=\"/articles/{slug}\" hreflang=\"{lang}\">{title}</a></h2>\
                 <p class=\"meta\">{byline}</p><p lang=\"{lang}\">{summary}</p></li>\n",
                slug = escape(&e.slug),
                lang = escape(&e.lang),
                title = escape(&e.title),
                byline = byline(&e.author, &e.published, e.words),
                summary = escape(&e.summary),
            ));
        }
        main.push_str("</ul>\n");
    }
    let data = PageData {
        page: "library",
        library: &catalog.library_url,
        slug: None,
        url: None,
        notes: None,
    };
    page(
        &state,
        &headers,
        StatusCode::OK,
        Page {
            lang: "en",
            dir: "ltr",
            title: "Glosa",
            head: &state.assets.tags,
            main: &main,
            data: &data,
        }
        .render(),
    )
}

pub async fn article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let catalog = state.catalog();
    let Some(entry) = catalog.entry(&slug) else {
        return not_found(&state, &catalog.library_url);
    };
    let Some(id) = doc_id(&entry.url) else {
        return server_error(&state, "the library lists this article with a bad URL");
    };
    let handle = match state.repo.find(id).await {
        Ok(Some(h)) => h,
        Ok(None) => {
            return server_error(&state, "this article's document is missing from the store");
        }
        Err(_) => return server_error(&state, "the server is shutting down"),
    };
    let doc = match handle.with_document(|d| article::read(d)) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(%slug, error = %e, "article document unreadable");
            return server_error(&state, "this article's document is damaged");
        }
    };
    let lang = if doc.lang.is_empty() {
        "en"
    } else {
        doc.lang.as_str()
    };
    let dir = text_direction(lang);
    let mut main = format!(
        "<article class=\"article\" lang=\"{lang}\" dir=\"{dir}\">\n<header>\n<h1>{title}</h1>\n<p class=\"meta\">{byline}</p>\n",
        lang = escape(lang),
        title = escape(&doc.title),
        byline = byline(&doc.author, &doc.published, entry.words),
    );
    main.push_str(&attribution(&doc));
    main.push_str("</header>\n");
    if doc.withdrawn {
        main.push_str("<p role=\"status\">This article was withdrawn by the publisher. Its notes are kept.</p>\n");
    }
    main.push_str("<div class=\"body\">\n");
    main.push_str(&markdown_to_html(&doc.body));
    main.push_str("</div>\n</article>\n");
    let data = PageData {
        page: "article",
        library: &catalog.library_url,
        slug: Some(&entry.slug),
        url: Some(&entry.url),
        notes: Some(&entry.notes),
    };
    let status = if doc.withdrawn {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    page(
        &state,
        &headers,
        status,
        Page {
            lang,
            dir,
            title: &doc.title,
            head: &state.assets.tags,
            main: &main,
            data: &data,
        }
        .render(),
    )
}

fn byline(author: &str, published: &str, words: u64) -> String {
    let mut parts = Vec::new();
    if !author.is_empty() {
        parts.push(format!("<bdi>{}</bdi>", escape(author)));
    }
    if !published.is_empty() {
        parts.push(format!(
            "<time datetime=\"{0}\">{0}</time>",
            escape(published)
        ));
    }
    // 200 words a minute: a slow, careful reader, often in a second language.
    let minutes = words.div_ceil(200).max(1);
    // <bdi> keeps "7 min read" in order inside a right-to-left byline.
    parts.push(format!("<bdi>{minutes} min read</bdi>"));
    parts.join(" · ")
}

fn attribution(doc: &article::Article) -> String {
    let mut parts = Vec::new();
    if !doc.source.is_empty() {
        let name = if doc.source_name.is_empty() {
            &doc.source
        } else {
            &doc.source_name
        };
        let link = if doc.source.starts_with("https://") || doc.source.starts_with("http://") {
            format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                escape(&doc.source),
                escape(name)
            )
        } else {
            escape(name)
        };
        parts.push(format!("First published by {link}."));
    } else if !doc.source_name.is_empty() {
        parts.push(format!("First published by {}.", escape(&doc.source_name)));
    }
    if !doc.translator.is_empty() {
        parts.push(format!("Translated by {}.", escape(&doc.translator)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("<p class=\"attribution\">{}</p>\n", parts.join(" "))
    }
}

pub fn not_found(state: &AppState, library: &str) -> Response {
    let data = PageData {
        page: "missing",
        library,
        slug: None,
        url: None,
        notes: None,
    };
    html(
        StatusCode::NOT_FOUND,
        Page {
            lang: "en",
            dir: "ltr",
            title: "Not found · Glosa",
            head: &state.assets.tags,
            main: "<h1>Not found</h1>\n<p>There is no such page here. <a href=\"/\">Back to the library</a>.</p>\n",
            data: &data,
        }
        .render(),
    )
}

fn server_error(state: &AppState, why: &str) -> Response {
    tracing::error!(reason = why, "page failed");
    let main = format!(
        "<h1>Something went wrong</h1>\n<p>{}. <a href=\"/\">Back to the library</a>.</p>\n",
        escape(why)
    );
    let catalog = state.catalog();
    let data = PageData {
        page: "error",
        library: &catalog.library_url,
        slug: None,
        url: None,
        notes: None,
    };
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        Page {
            lang: "en",
            dir: "ltr",
            title: "Error · Glosa",
            head: "",
            main: &main,
            data: &data,
        }
        .render(),
    )
}

/// A page, with its version as `ETag`: a 304 for a client that has this
/// version already. Otherwise from `brotli_pages` when the client takes
/// brotli and the page was compressed already, or as it is, for
/// `CompressionLayer` to compress.
fn page(state: &AppState, headers: &HeaderMap, status: StatusCode, body: String) -> Response {
    let version = state.brotli_pages.version(&body);
    let etag = version.etag();
    let mut response = if status == StatusCode::OK && has_version(headers, &etag) {
        html(StatusCode::NOT_MODIFIED, ())
    } else if accepts_encoding(accept_encoding(headers), "br")
        && let Some(compressed) = state.brotli_pages.get_or_schedule(version, &body)
    {
        let mut r = html(status, compressed);
        // CompressionLayer leaves a response with a Content-Encoding alone.
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        r
    } else {
        html(status, body)
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2).
fn has_version(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    fn weak(t: &[u8]) -> &[u8] {
        t.strip_prefix(b"W/").unwrap_or(t)
    }
    let ours = weak(etag.as_bytes());
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(|t| t.trim_ascii())
        .any(|t| t == b"*" || weak(t) == ours)
}

fn html(status: StatusCode, body: impl IntoResponse) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Pages change when the publisher edits a file: always revalidate.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
