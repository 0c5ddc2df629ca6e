//! The page template and the escaping every dynamic string goes through.

use serde::Serialize;

const TEMPLATE: &str = include_str!("page.html");
const CSS: &str = include_str!("page.css");

/// One page's parts. Every field but `main` and `head` is plain text and is
/// escaped here; `main` and `head` are markup built from escaped parts.
pub struct Page<'a, D: Serialize> {
    pub lang: &'a str,
    pub dir: &'a str,
    pub title: &'a str,
    pub head: &'a str,
    pub main: &'a str,
    pub data: &'a D,
}

impl<D: Serialize> Page<'_, D> {
    pub fn render(&self) -> String {
        let data = serde_json::to_string(self.data).unwrap_or_else(|_| "{}".into());
        let mut out = String::with_capacity(TEMPLATE.len() + CSS.len() + self.main.len() + 512);
        let mut rest = TEMPLATE;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            match &after[..end] {
                "lang" => out.push_str(&escape(self.lang)),
                "dir" => out.push_str(&escape(self.dir)),
                "title" => out.push_str(&escape(self.title)),
                "css" => out.push_str(CSS),
                "head" => out.push_str(self.head),
                "main" => out.push_str(self.main),
                "data" => out.push_str(&script_safe_json(&data)),
                other => {
                    out.push_str("{{");
                    out.push_str(other);
                    out.push_str("}}");
                }
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON inside `<script>` must not contain `</script>` or `<!--`; escaping
/// every `<` as `\u003c` keeps it valid JSON and inert HTML.
fn script_safe_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn data_cannot_close_its_script() {
        let data = serde_json::json!({"title": "</script><script>alert(1)</script>"});
        let html = Page {
            lang: "en",
            dir: "ltr",
            title: "t",
            head: "",
            main: "",
            data: &data,
        }
        .render();
        assert!(!html.contains("</script><script>alert"));
        assert!(html.contains("\\u003c/script>"));
    }

    #[test]
    fn title_and_lang_are_escaped() {
        let html = Page {
            lang: "en\"><x",
            dir: "ltr",
            title: "<b>",
            head: "",
            main: "",
            data: &(),
        }
        .render();
        assert!(html.contains("<title>&lt;b&gt;</title>"));
        assert!(html.contains("lang=\"en&quot;&gt;&lt;x\""));
    }
}
