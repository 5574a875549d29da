//! The parser for AWS's JSONPath syntax, and its translation to RFC 9535 for the indefinite
//! paths that `serde_json_path` evaluates.
//!
//! Jayway (what AWS runs) is more liberal than RFC 9535 in dot notation: `$.delivery-partner`
//! or `$.a:b` are plain member names there. We parse Jayway's syntax ourselves and always emit
//! bracket notation, so such names survive the translation.

use super::{Root, Selector, Step};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PathError {
    pub message: String,
}

fn err<T>(message: impl Into<String>) -> Result<T, PathError> {
    Err(PathError {
        message: message.into(),
    })
}

struct Cursor {
    chars: Vec<char>,
    pos: usize,
    /// Inside a filter, names end at operators and blanks as well as at `.` and `[`.
    in_filter: bool,
}

impl Cursor {
    fn new(src: &str) -> Self {
        Cursor {
            chars: src.chars().collect(),
            pos: 0,
            in_filter: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn ends_name(&self, c: char) -> bool {
        c == '.' || c == '[' || (self.in_filter && (c.is_whitespace() || "()<>=!&|,]".contains(c)))
    }
}

/// Parses a whole path: a root, then steps to the end of the text.
pub fn parse_path(src: &str) -> Result<(Root, Vec<Step>), PathError> {
    let mut cur = Cursor::new(src);
    let root = parse_root(&mut cur)?;
    let steps = parse_steps(&mut cur)?;
    if cur.pos != cur.chars.len() {
        return err(format!(
            "unexpected '{}' at position {}",
            cur.chars[cur.pos], cur.pos
        ));
    }
    Ok((root, steps))
}

fn parse_root(cur: &mut Cursor) -> Result<Root, PathError> {
    if !cur.eat('$') {
        return err("a path must start with '$'");
    }
    if cur.eat('$') {
        return Ok(Root::Context);
    }
    match cur.peek() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            let start = cur.pos;
            while matches!(cur.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
                cur.pos += 1;
            }
            Ok(Root::Variable(cur.chars[start..cur.pos].iter().collect()))
        }
        _ => Ok(Root::Input),
    }
}

fn parse_steps(cur: &mut Cursor) -> Result<Vec<Step>, PathError> {
    let mut steps = Vec::new();
    loop {
        match cur.peek() {
            Some('.') if cur.peek_at(1) == Some('.') => {
                cur.pos += 2;
                let selector = match cur.peek() {
                    Some('[') => parse_bracket(cur)?,
                    Some('*') => {
                        cur.pos += 1;
                        Selector::Wildcard
                    }
                    _ => Selector::Name(parse_dot_name(cur)?),
                };
                steps.push(Step {
                    descendant: true,
                    selector,
                });
            }
            Some('.') => {
                cur.pos += 1;
                let selector = if cur.eat('*') {
                    Selector::Wildcard
                } else {
                    Selector::Name(parse_dot_name(cur)?)
                };
                steps.push(Step {
                    descendant: false,
                    selector,
                });
            }
            Some('[') => {
                let selector = parse_bracket(cur)?;
                steps.push(Step {
                    descendant: false,
                    selector,
                });
            }
            _ => return Ok(steps),
        }
    }
}

fn parse_dot_name(cur: &mut Cursor) -> Result<String, PathError> {
    let start = cur.pos;
    while let Some(c) = cur.peek() {
        if cur.ends_name(c) {
            break;
        }
        cur.pos += 1;
    }
    if cur.pos == start {
        return err(format!("expected a member name at position {start}"));
    }
    let name: String = cur.chars[start..cur.pos].iter().collect();
    if name.ends_with("()") {
        return err(format!("path functions such as '{name}' are not supported"));
    }
    Ok(name)
}

fn parse_bracket(cur: &mut Cursor) -> Result<Selector, PathError> {
    let open = cur.pos;
    cur.pos += 1; // '['
    cur.skip_blanks();
    let selector = match cur.peek() {
        Some('*') => {
            cur.pos += 1;
            Selector::Wildcard
        }
        Some('?') => {
            cur.pos += 1;
            cur.skip_blanks();
            Selector::Filter(parse_filter(cur)?)
        }
        Some('\'') | Some('"') => {
            let mut names = vec![parse_quoted(cur)?];
            cur.skip_blanks();
            while cur.eat(',') {
                cur.skip_blanks();
                names.push(parse_quoted(cur)?);
                cur.skip_blanks();
            }
            if names.len() == 1 {
                Selector::Name(names.pop().expect("one name"))
            } else {
                Selector::Names(names)
            }
        }
        Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => parse_indices(cur)?,
        _ => return err(format!("invalid bracket expression at position {open}")),
    };
    cur.skip_blanks();
    if !cur.eat(']') {
        return err(format!("unclosed '[' at position {open}"));
    }
    Ok(selector)
}

/// A quoted member name. Only the quote itself is escaped (`\'`); any other backslash is kept
/// as written, as Jayway does.
fn parse_quoted(cur: &mut Cursor) -> Result<String, PathError> {
    let quote = cur.peek().expect("caller saw a quote");
    let open = cur.pos;
    cur.pos += 1;
    let mut out = String::new();
    loop {
        match cur.peek() {
            None => return err(format!("unterminated quoted name at position {open}")),
            Some('\\') if cur.peek_at(1) == Some(quote) => {
                out.push(quote);
                cur.pos += 2;
            }
            Some(c) if c == quote => {
                cur.pos += 1;
                return Ok(out);
            }
            Some(c) => {
                out.push(c);
                cur.pos += 1;
            }
        }
    }
}

fn parse_int(cur: &mut Cursor) -> Result<Option<i64>, PathError> {
    cur.skip_blanks();
    let start = cur.pos;
    if cur.peek() == Some('-') {
        cur.pos += 1;
    }
    while matches!(cur.peek(), Some(c) if c.is_ascii_digit()) {
        cur.pos += 1;
    }
    if cur.pos == start {
        return Ok(None);
    }
    let text: String = cur.chars[start..cur.pos].iter().collect();
    let n = text.parse::<i64>().map_err(|_| PathError {
        message: format!("invalid index '{text}'"),
    })?;
    cur.skip_blanks();
    Ok(Some(n))
}

fn parse_indices(cur: &mut Cursor) -> Result<Selector, PathError> {
    let first = parse_int(cur)?;
    if cur.peek() == Some(':') {
        cur.pos += 1;
        let end = parse_int(cur)?;
        let step = if cur.eat(':') { parse_int(cur)? } else { None };
        if step == Some(0) {
            return err("a slice step cannot be 0");
        }
        return Ok(Selector::Slice {
            start: first,
            end,
            step,
        });
    }
    let Some(first) = first else {
        return err("expected an index");
    };
    let mut all = vec![first];
    while cur.eat(',') {
        match parse_int(cur)? {
            Some(n) => all.push(n),
            None => return err("expected an index after ','"),
        }
    }
    Ok(if all.len() == 1 {
        Selector::Index(first)
    } else {
        Selector::Indices(all)
    })
}

/// Reads `(expr)` after `?`, translating each embedded path to RFC 9535 bracket notation.
fn parse_filter(cur: &mut Cursor) -> Result<String, PathError> {
    let open = cur.pos;
    if !cur.eat('(') {
        return err(format!(
            "a filter must be written '[?(…)]' at position {open}"
        ));
    }
    let mut out = String::from("(");
    let mut depth = 1;
    while depth > 0 {
        let Some(c) = cur.peek() else {
            return err(format!("unclosed filter at position {open}"));
        };
        match c {
            '\'' | '"' => {
                let lit = parse_quoted(cur)?;
                out.push_str(&quote_rfc(&lit));
            }
            '@' | '$' => {
                cur.pos += 1;
                out.push(c);
                let outer = std::mem::replace(&mut cur.in_filter, true);
                let steps = parse_steps(cur);
                cur.in_filter = outer;
                out.push_str(&steps_to_rfc(&steps?));
            }
            '(' => {
                depth += 1;
                out.push(c);
                cur.pos += 1;
            }
            ')' => {
                depth -= 1;
                out.push(c);
                cur.pos += 1;
            }
            _ => {
                out.push(c);
                cur.pos += 1;
            }
        }
    }
    Ok(out)
}

fn quote_rfc(name: &str) -> String {
    let mut out = String::from("'");
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn steps_to_rfc(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        if step.descendant {
            out.push_str("..");
        }
        out.push('[');
        match &step.selector {
            Selector::Name(n) => out.push_str(&quote_rfc(n)),
            Selector::Index(i) => out.push_str(&i.to_string()),
            Selector::Wildcard => out.push('*'),
            Selector::Slice { start, end, step } => {
                let part = |v: &Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
                out.push_str(&format!("{}:{}", part(start), part(end)));
                if step.is_some() {
                    out.push_str(&format!(":{}", part(step)));
                }
            }
            Selector::Names(ns) => out.push_str(
                &ns.iter()
                    .map(|n| quote_rfc(n))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Selector::Indices(is) => out.push_str(
                &is.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Selector::Filter(f) => {
                out.push('?');
                out.push_str(f);
            }
        }
        out.push(']');
    }
    out
}

/// The RFC 9535 query equivalent to `steps`, rooted at `$`.
pub fn to_rfc9535(steps: &[Step]) -> String {
    format!("${}", steps_to_rfc(steps))
}
