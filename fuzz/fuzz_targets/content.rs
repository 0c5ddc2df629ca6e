//! The content importer on arbitrary bytes: front matter, then the Markdown
//! renderer on the body (and on the whole input, so the renderer is fuzzed
//! even when the front matter is refused). Nothing may panic, and no
//! script may come out of the sanitizer.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fn render(md: &str) {
    let html = glosa::render::markdown_to_html(md);
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "a script survived: {html}"
    );
    glosa::render::word_count(md);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(article) = glosa::content::parse_article(Path::new("content/fuzz.md"), data) {
        render(&article.body);
    }
    render(&String::from_utf8_lossy(data));
});
