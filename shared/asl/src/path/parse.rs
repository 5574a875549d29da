//! The parser for AWS's JSONPath syntax.
//!
//! Jayway (what AWS runs) is more liberal than RFC 9535 in dot notation: `$.delivery-partner`
//! or `$.a:b` are plain member names there, so we parse Jayway's syntax ourselves, filters
//! included, and build the RFC 9535 query that `serde_json_path_core` evaluates directly
//! (see `filter.rs`) rather than writing RFC text for another parser to read back: that
//! parser backtracks, and a filter nested n deep cost it 2^n parses.
//!
//! A '.' before a bracket is only a separator, as in Jayway's `PathCompiler.readDotToken`:
//! `$.[0]`, `$.a.[0].b`, `$.[*].['x','y']` and `$.[?(@.n > 0)]` mean what they mean without it.
//!
//! Every path is read in one pass, and brackets, parentheses and filters may nest at most
//! [`MAX_NESTING`] deep, so that no path can exhaust the stack or the CPU.

use super::filter;
use super::{Root, Selector, Step};

/// How deep brackets and parentheses may nest in one path (a filter `[?(…)]` is two levels).
/// Jayway has no such limit; real paths rarely go past 4.
pub const MAX_NESTING: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PathError {
    pub message: String,
}

pub(super) fn err<T>(message: impl Into<String>) -> Result<T, PathError> {
    Err(PathError {
        message: message.into(),
    })
}

pub(super) struct Cursor {
    pub(super) chars: Vec<char>,
    pub(super) pos: usize,
    /// Inside a filter, names end at operators and blanks as well as at `.` and `[`.
    pub(super) in_filter: bool,
    /// Brackets and parentheses open around the current position.
    depth: usize,
}

impl Cursor {
    fn new(src: &str) -> Self {
        Cursor {
            chars: src.chars().collect(),
            pos: 0,
            in_filter: false,
            depth: 0,
        }
    }

    /// Enters a bracket or parenthesis opened at `open`; refused past [`MAX_NESTING`], before
    /// any recursion.
    pub(super) fn enter(&mut self, open: usize) -> Result<(), PathError> {
        if self.depth >= MAX_NESTING {
            return err(format!(
                "brackets and parentheses nest more than {MAX_NESTING} deep at position {open}"
            ));
        }
        self.depth += 1;
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth -= 1;
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    pub(super) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn skip_blanks(&mut self) {
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
    // Jayway's `PathCompiler.compile` trims the blanks around a path before reading it
    // (`CharacterIndex.trim`): `"$$.Execution.Name "`, as AWS's own samples write it, is
    // `$$.Execution.Name`.
    let src = src.trim_matches(' ');
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

pub(super) fn parse_steps(cur: &mut Cursor) -> Result<Vec<Step>, PathError> {
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
                // Jayway reads a '.' before '[' as a bare separator: `$.[0]` is `$[0]`,
                // `$.a.['b','c']` is `$.a['b','c']`, `@.[?(…)]` is `@[?(…)]`.
                let selector = if cur.peek() == Some('[') {
                    parse_bracket(cur)?
                } else if cur.eat('*') {
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
    cur.enter(open)?;
    let selector = parse_bracket_inside(cur, open);
    cur.leave();
    selector
}

fn parse_bracket_inside(cur: &mut Cursor, open: usize) -> Result<Selector, PathError> {
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
            Selector::Filter(Box::new(filter::parse(cur)?))
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
pub(super) fn parse_quoted(cur: &mut Cursor) -> Result<String, PathError> {
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
