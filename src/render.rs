//! Markdown → sanitized HTML for the server-rendered pages, word counts for
//! reading times, and text direction from a language tag.
//!
//! Content files are trusted less than code: they come from contributors and
//! may be hostile. So raw HTML in Markdown never passes through (it is shown
//! as text), the output is cleaned again by ammonia, and nesting deeper than
//! [`MAX_DEPTH`] is flattened before any HTML exists, because html5ever and
//! ammonia walk trees recursively and 100,000 nested quotes would overflow
//! the stack.

use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// Deepest nesting of quotes, lists and inline emphasis/links kept in the HTML.
/// Deeper levels keep their text but lose their wrapper.
pub const MAX_DEPTH: usize = 32;

/// Footnote ids are prefixed so that a label such as `[^glosa-data]` cannot
/// clobber an element id of the page around the article.
const FOOTNOTE_PREFIX: &str = "fn-";

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"))
        .add_tag_attributes("div", &["id"])
        .add_tag_attributes("li", &["id"])
        .add_allowed_classes("div", &["footnote-definition"])
        .add_allowed_classes("sup", &["footnote-reference", "footnote-definition-label"])
        .attribute_filter(|_element, attribute, value| {
            if attribute == "id" && !value.starts_with(FOOTNOTE_PREFIX) {
                None
            } else {
                Some(value.into())
            }
        });
    b
});

/// Tags that can nest without bound and may be dropped when too deep. Others
/// (paragraphs, headings, tables, code blocks) cannot contain themselves, so
/// their depth is bounded by these.
fn flattenable(tag: &Tag) -> bool {
    matches!(
        tag,
        Tag::BlockQuote(_)
            | Tag::List(_)
            | Tag::FootnoteDefinition(_)
            | Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

/// Rewrites the event stream so that it is safe to turn into HTML: raw HTML
/// becomes text, footnote labels get a prefix, and wrappers nested deeper
/// than [`MAX_DEPTH`] are dropped (their content is kept).
struct Flatten<'a, I> {
    inner: I,
    /// For every open tag: was its start emitted?
    open: Vec<bool>,
    /// How many emitted tags are open.
    depth: usize,
    _marker: std::marker::PhantomData<&'a ()>,
}

impl<'a, I: Iterator<Item = Event<'a>>> Flatten<'a, I> {
    fn new(inner: I) -> Self {
        Flatten {
            inner,
            open: Vec::new(),
            depth: 0,
            _marker: std::marker::PhantomData,
        }
    }
}

fn prefixed(label: CowStr<'_>) -> CowStr<'_> {
    CowStr::from(format!("{FOOTNOTE_PREFIX}{label}"))
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Flatten<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let event = self.inner.next()?;
            match event {
                Event::Start(tag) => {
                    // An item is kept exactly when its list was.
                    let keep = match tag {
                        Tag::Item => self.open.last().copied().unwrap_or(true),
                        ref t if flattenable(t) => self.depth < MAX_DEPTH,
                        _ => true,
                    };
                    self.open.push(keep);
                    if keep {
                        self.depth += 1;
                        let tag = match tag {
                            Tag::FootnoteDefinition(label) => {
                                Tag::FootnoteDefinition(prefixed(label))
                            }
                            other => other,
                        };
                        return Some(Event::Start(tag));
                    }
                }
                Event::End(end) => {
                    if self.open.pop().unwrap_or(true) {
                        self.depth = self.depth.saturating_sub(1);
                        return Some(Event::End(end));
                    }
                    // A dropped block still separates its text from what follows.
                    if matches!(end, TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item) {
                        return Some(Event::SoftBreak);
                    }
                }
                Event::Html(html) | Event::InlineHtml(html) => return Some(Event::Text(html)),
                Event::FootnoteReference(label) => {
                    return Some(Event::FootnoteReference(prefixed(label)));
                }
                other => return Some(other),
            }
        }
    }
}

/// CommonMark (with tables, strikethrough and footnotes) → sanitized HTML.
///
/// Raw HTML in the Markdown is shown as text, never interpreted; links get
/// `rel="noopener noreferrer nofollow"`; `javascript:` and other unsafe URLs
/// are removed. Nesting deeper than [`MAX_DEPTH`] is flattened, so hostile
/// input renders in linear time without deep recursion.
pub fn markdown_to_html(md: &str) -> String {
    let events = Flatten::new(Parser::new_ext(md, options()));
    let mut html = String::with_capacity(md.len() + md.len() / 4);
    pulldown_cmark::html::push_html(&mut html, events);
    CLEANER.clean(&html).to_string()
}

/// The number of words a reader reads: text of the rendered body, not its
/// markup. A run of letters or digits is a word (inner punctuation such as
/// `don't` or `2,000` does not split it); each CJK ideograph or kana counts
/// as a word since those scripts do not separate words with spaces.
pub fn word_count(md: &str) -> usize {
    let mut counter = WordCounter::default();
    for event in Parser::new_ext(md, options()) {
        match event {
            // Raw HTML is shown as text, so it is read as text.
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                counter.feed(&t)
            }
            Event::SoftBreak | Event::HardBreak | Event::Rule => counter.gap(),
            Event::End(end) if !is_inline(&end) => counter.gap(),
            _ => {}
        }
    }
    counter.count
}

fn is_inline(end: &TagEnd) -> bool {
    matches!(
        end,
        TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link
            | TagEnd::Image
    )
}

#[derive(Default)]
struct WordCounter {
    count: usize,
    in_word: bool,
}

impl WordCounter {
    fn gap(&mut self) {
        self.in_word = false;
    }

    fn feed(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.in_word = false;
            } else if is_cjk(c) {
                self.count += 1;
                self.in_word = false;
            } else if c.is_alphanumeric() && !self.in_word {
                self.count += 1;
                self.in_word = true;
            }
            // Other characters (punctuation, marks, symbols) neither start nor end a word.
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'     // hiragana, katakana
        | '\u{3400}'..='\u{4dbf}'   // CJK extension A
        | '\u{4e00}'..='\u{9fff}'   // CJK unified ideographs
        | '\u{f900}'..='\u{faff}'   // compatibility ideographs
        | '\u{20000}'..='\u{2fa1f}' // extensions B–F, compatibility supplement
    )
}

/// "rtl" for languages written right to left (by the primary subtag of a
/// BCP 47 tag, case-insensitive), else "ltr".
pub fn text_direction(lang: &str) -> &'static str {
    const RTL: [&str; 10] = ["ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"];
    let primary = lang.split(['-', '_']).next().unwrap_or("").trim();
    if RTL.iter().any(|r| r.eq_ignore_ascii_case(primary)) {
        "rtl"
    } else {
        "ltr"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn renders_commonmark_and_extensions() {
        let html = markdown_to_html(
            "# Title\n\nSome *em* and **strong** and ~~gone~~.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nNote[^n].\n\n[^n]: The note.\n\n> quoted\n\n- one\n- two\n",
        );
        for part in [
            "<h1>Title</h1>",
            "<em>em</em>",
            "<strong>strong</strong>",
            "<del>gone</del>",
            "<table>",
            "<td>2</td>",
            "<blockquote>",
            "<li>one</li>",
            "href=\"#fn-n\"",
            "id=\"fn-n\"",
            "class=\"footnote-definition\"",
        ] {
            assert!(html.contains(part), "missing {part} in {html}");
        }
    }

    /// The real tags of `html` (text `<` is always escaped as `&lt;`).
    fn tags(html: &str) -> Vec<&str> {
        html.split('<')
            .skip(1)
            .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag))
            .collect()
    }

    #[test]
    fn sanitizes_scripts_handlers_and_javascript_urls() {
        let html = markdown_to_html(
            "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(2)> there\n\n[click](javascript:alert(3)) [ok](https://example.org/a)\n\n<a href=\"javascript:alert(4)\">x</a>\n\n![i](javascript:alert(5))\n",
        );
        let tags = tags(&html);
        assert!(tags.iter().any(|t| t.starts_with("a ")), "{html}");
        for tag in &tags {
            let t = tag.to_lowercase();
            assert!(!t.starts_with("script"), "{html}");
            assert!(!t.contains("onerror"), "{html}");
            assert!(!t.contains("javascript"), "{html}");
        }
        // Raw HTML is visible as text, so nothing of the article is silently lost.
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://example.org/a\" rel=\"noopener noreferrer nofollow\">ok</a>"
            ),
            "{html}"
        );
    }

    #[test]
    fn attributes_cannot_be_smuggled() {
        let html = markdown_to_html(
            "[x](https://e.org/\"onmouseover=\"alert(1) \"t\")\n\n[^glosa-data]\n\n[^glosa-data]: clobber?\n",
        );
        assert!(!html.contains("onmouseover=\""), "{html}");
        assert!(!html.contains("id=\"glosa-data\""), "{html}");
        let html = markdown_to_html("<div id=\"glosa-data\" style=\"x\">y</div>\n");
        assert!(!html.contains("<div"), "{html}");
    }

    fn assert_fast(name: &str, md: &str) -> String {
        let start = Instant::now();
        let html = markdown_to_html(md);
        let words = word_count(md);
        let took = start.elapsed();
        eprintln!("{name}: {took:?}");
        // Generous: on a loaded CI machine in a debug build; the point is
        // "not quadratic, no stack overflow", which would take minutes or crash.
        assert!(took < Duration::from_secs(20), "{name} took {took:?}");
        assert!(words > 0, "{name}");
        html
    }

    fn depth_of(html: &str, open: &str) -> usize {
        html.matches(open).count()
    }

    #[test]
    fn deep_quotes_are_flattened() {
        let md = format!("{}deep\n", ">".repeat(100_000));
        let html = assert_fast("quotes", &md);
        assert!(html.contains("deep"));
        assert_eq!(depth_of(&html, "<blockquote>"), MAX_DEPTH);
        // One quote per line, too.
        let md: String = (1..=20_000)
            .map(|i| format!("{} q\n", ">".repeat(i.min(200))))
            .collect();
        assert_fast("quote lines", &md);
    }

    #[test]
    fn deep_lists_are_flattened() {
        let md = format!("{}item\n", "- ".repeat(100_000));
        let html = assert_fast("bullets", &md);
        assert!(html.contains("item"));
        assert!(depth_of(&html, "<ul>") <= MAX_DEPTH);
        let md = format!("{}item\n", "1. ".repeat(100_000));
        let html = assert_fast("ordered", &md);
        assert!(depth_of(&html, "<ol>") <= MAX_DEPTH);
        let md = format!("{}item\n", "> - ".repeat(50_000));
        assert_fast("mixed", &md);
    }

    #[test]
    fn deep_inline_nesting_is_flattened() {
        let n = 50_000;
        let md = format!("{}x{}\n", "*a ".repeat(n), " a*".repeat(n));
        let html = assert_fast("emphasis", &md);
        assert!(depth_of(&html, "<em>") <= MAX_DEPTH);
        let md = format!("{}x{}\n", "[".repeat(n), "](u)".repeat(n));
        assert_fast("links", &md);
        let md = format!("{}x{}\n", "<div>".repeat(n), "</div>".repeat(n));
        let html = assert_fast("raw html", &md);
        assert!(!html.contains("<div"));
    }

    #[test]
    fn counts_words() {
        assert_eq!(word_count(""), 0);
        assert_eq!(word_count("Hello, world!"), 2);
        assert_eq!(
            word_count("# Title\n\nOne *two* three.\n\n- four\n- five"),
            6
        );
        assert_eq!(word_count("don't stop — 2,000 well-known"), 4);
        assert_eq!(word_count("para one\n\npara two"), 4);
        assert_eq!(word_count("end.\n# Next"), 2);
        assert_eq!(
            word_count("[a link](https://example.org/many/words/here)"),
            2
        );
        assert_eq!(word_count("日本語 text"), 4);
        assert_eq!(word_count("مرحبا بالعالم"), 2);
    }

    #[test]
    fn seed_article_renders() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("content/ayotzinapa-and-palestine.md");
        let a = crate::content::read_article(&path).unwrap();
        let html = markdown_to_html(&a.body);
        assert!(
            html.contains("<p>Originally published on It’s Going Down.</p>"),
            "{}",
            &html[..200]
        );
        let words = word_count(&a.body);
        assert!((1000..3000).contains(&words), "{words}");
    }

    #[test]
    fn directions() {
        for rtl in [
            "ar", "AR", "he-IL", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "ckb-IQ", "ar_EG",
        ] {
            assert_eq!(text_direction(rtl), "rtl", "{rtl}");
        }
        for ltr in ["en", "es-MX", "", "arx", "h", "ckbx", "zh-Hant"] {
            assert_eq!(text_direction(ltr), "ltr", "{ltr}");
        }
    }
}
