//! A small XML tree for the responses of the XML protocols (rest-xml, query, ec2), parsed with
//! `xmlparser`, and the escaping the request bodies need.

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Element {
    /// The local name (a namespace prefix is dropped).
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        let local = |n: &str| n.rsplit(':').next().unwrap_or(n).to_string();
        self.attributes
            .iter()
            .find(|(k, _)| k == name || local(k) == local(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first descendant (or this element) named `name`, depth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// Parses a document into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, String> {
    use xmlparser::{ElementEnd, Token};
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    for token in xmlparser::Tokenizer::from(text) {
        let token = token.map_err(|e| e.to_string())?;
        match token {
            Token::ElementStart { local, .. } => stack.push(Element {
                name: local.to_string(),
                ..Element::default()
            }),
            Token::Attribute {
                prefix,
                local,
                value,
                ..
            } => {
                if let Some(top) = stack.last_mut() {
                    let name = if prefix.is_empty() {
                        local.to_string()
                    } else {
                        format!("{prefix}:{local}")
                    };
                    top.attributes.push((name, unescape(value.as_str())));
                }
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => {}
                ElementEnd::Close(..) | ElementEnd::Empty => {
                    let done = stack.pop().ok_or("unbalanced XML")?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => root = Some(done),
                    }
                }
            },
            Token::Text { text } => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&unescape(text.as_str()));
                }
            }
            Token::Cdata { text, .. } => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(text.as_str());
                }
            }
            _ => {}
        }
    }
    root.ok_or_else(|| "no XML element".to_string())
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else {
            out.push_str(rest);
            return out;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes text or an attribute value.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\n' => out.push_str("&#xA;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_elements_text_and_attributes() {
        let doc = parse(
            r#"<?xml version="1.0"?><a xmlns="urn:x"><b k="v&amp;w">1 &lt; 2</b><b/><c><![CDATA[<raw>]]></c></a>"#,
        )
        .unwrap();
        assert_eq!(doc.name, "a");
        assert_eq!(doc.children_named("b").count(), 2);
        assert_eq!(doc.child("b").unwrap().text, "1 < 2");
        assert_eq!(doc.child("b").unwrap().attribute("k"), Some("v&w"));
        assert_eq!(doc.child("c").unwrap().text, "<raw>");
        assert_eq!(escape("a<&>\"b"), "a&lt;&amp;&gt;&quot;b");
        assert_eq!(unescape("&#65;&#x42;&bogus;"), "AB&bogus;");
    }
}
