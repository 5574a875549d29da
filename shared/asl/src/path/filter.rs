//! Filter expressions (`[?(…)]`) and the RFC 9535 query an indefinite path becomes.
//!
//! The grammar is RFC 9535's logical expressions written with Jayway's paths: `||`, `&&`,
//! `!`, parentheses, comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`) between paths (`@…`,
//! `$…`) and literals (numbers, quoted strings, `true`, `false`, `null`), and existence
//! tests (a path alone). It is read by recursive descent with one token of lookahead, so the
//! time taken is linear in the length of the filter; every recursion passes through
//! [`Cursor::enter`], which bounds the nesting. Jayway's other operators (`=~`, `in`, `nin`,
//! `subsetof`, `anyof`, `noneof`, `size`, `empty`) and functions are refused by name.

use serde_json::Number;
use serde_json_path_core::spec::integer::Integer;
use serde_json_path_core::spec::query::{Query, QueryKind};
use serde_json_path_core::spec::segment::{QuerySegment, QuerySegmentKind, Segment};
use serde_json_path_core::spec::selector::filter::{
    BasicExpr, Comparable, ComparisonExpr, ComparisonOperator, ExistExpr, Literal, LogicalAndExpr,
    LogicalOrExpr, SingularQuery, SingularQueryKind, SingularQuerySegment,
};
use serde_json_path_core::spec::selector::index::Index;
use serde_json_path_core::spec::selector::name::Name;
use serde_json_path_core::spec::selector::slice::Slice;
use serde_json_path_core::spec::selector::Selector as Rfc;

pub use serde_json_path_core::spec::selector::filter::Filter;

use super::parse::{err, parse_quoted, parse_steps, Cursor, PathError};
use super::{Selector, Step};

/// Jayway operators and filter functions that RFC 9535 (and so this evaluator) lacks.
const UNSUPPORTED_WORDS: &[&str] = &[
    "in", "nin", "subsetof", "anyof", "noneof", "size", "empty", "contains",
];

/// Reads `(expr)` after `[?`.
pub(super) fn parse(cur: &mut Cursor) -> Result<Filter, PathError> {
    if cur.peek() != Some('(') {
        return err(format!(
            "a filter must be written '[?(…)]' at position {}",
            cur.pos
        ));
    }
    let outer = std::mem::replace(&mut cur.in_filter, true);
    let expr = group(cur);
    cur.in_filter = outer;
    Ok(Filter(expr?))
}

/// `( or-expression )`.
fn group(cur: &mut Cursor) -> Result<LogicalOrExpr, PathError> {
    let open = cur.pos;
    cur.enter(open)?;
    cur.pos += 1; // '('
    let expr = or_expr(cur);
    cur.leave();
    let expr = expr?;
    cur.skip_blanks();
    match cur.peek() {
        Some(')') => {
            cur.pos += 1;
            Ok(expr)
        }
        None => err(format!("unclosed filter at position {open}")),
        Some(c) => err(format!(
            "expected '&&', '||' or ')' in the filter at position {}, found '{c}'",
            cur.pos
        )),
    }
}

fn or_expr(cur: &mut Cursor) -> Result<LogicalOrExpr, PathError> {
    let mut all = vec![and_expr(cur)?];
    while eat_operator(cur, "||") {
        all.push(and_expr(cur)?);
    }
    Ok(LogicalOrExpr(all))
}

fn and_expr(cur: &mut Cursor) -> Result<LogicalAndExpr, PathError> {
    let mut all = vec![basic(cur)?];
    while eat_operator(cur, "&&") {
        all.push(basic(cur)?);
    }
    Ok(LogicalAndExpr(all))
}

fn eat_operator(cur: &mut Cursor, op: &str) -> bool {
    cur.skip_blanks();
    let mut chars = op.chars();
    let (a, b) = (chars.next(), chars.next());
    if cur.peek() == a && cur.peek_at(1) == b {
        cur.pos += 2;
        true
    } else {
        false
    }
}

fn basic(cur: &mut Cursor) -> Result<BasicExpr, PathError> {
    cur.skip_blanks();
    match cur.peek() {
        Some('!') if cur.peek_at(1) != Some('=') => {
            let at = cur.pos;
            cur.pos += 1;
            cur.skip_blanks();
            match cur.peek() {
                Some('(') => Ok(BasicExpr::NotParen(group(cur)?)),
                Some('@' | '$') => {
                    let (kind, steps) = path(cur)?;
                    Ok(BasicExpr::NotExist(ExistExpr(query(kind, &steps)?)))
                }
                _ => err(format!(
                    "'!' at position {at} must be followed by a path or a parenthesised condition"
                )),
            }
        }
        Some('(') => Ok(BasicExpr::Paren(group(cur)?)),
        _ => {
            let start = cur.pos;
            let left = operand(cur)?;
            cur.skip_blanks();
            match comparison(cur)? {
                Some(op) => {
                    cur.skip_blanks();
                    let right_start = cur.pos;
                    let right = operand(cur)?;
                    Ok(BasicExpr::Relation(ComparisonExpr {
                        left: comparable(left, start)?,
                        op,
                        right: comparable(right, right_start)?,
                    }))
                }
                None => match left {
                    Operand::Path(kind, steps) => Ok(BasicExpr::Exist(ExistExpr(query(
                        kind, &steps,
                    )?))),
                    Operand::Literal(_) => err(format!(
                        "the literal at position {start} is not a condition: compare it with something"
                    )),
                },
            }
        }
    }
}

enum Operand {
    Path(QueryKind, Vec<Step>),
    Literal(Literal),
}

fn operand(cur: &mut Cursor) -> Result<Operand, PathError> {
    let start = cur.pos;
    match cur.peek() {
        Some('@' | '$') => {
            let (kind, steps) = path(cur)?;
            Ok(Operand::Path(kind, steps))
        }
        Some('\'' | '"') => Ok(Operand::Literal(Literal::String(parse_quoted(cur)?))),
        Some(c) if c == '-' || c.is_ascii_digit() => number(cur).map(Operand::Literal),
        Some(c) if c.is_alphabetic() => {
            let word = word(cur);
            match word.as_str() {
                "true" => Ok(Operand::Literal(Literal::Bool(true))),
                "false" => Ok(Operand::Literal(Literal::Bool(false))),
                "null" => Ok(Operand::Literal(Literal::Null)),
                _ => {
                    cur.skip_blanks();
                    if cur.peek() == Some('(') {
                        err(format!(
                            "filter functions such as '{word}()' are not supported (position {start})"
                        ))
                    } else {
                        // Jayway reads any other word as a number and fails, so AWS refuses
                        // the path: strings must be quoted.
                        err(format!(
                            "the unquoted word '{word}' at position {start} is not a value: \
                             quote a string ('{word}'), or write a path (@.{word})"
                        ))
                    }
                }
            }
        }
        Some(c) => err(format!(
            "expected a path, a literal or '(' in the filter at position {start}, found '{c}'"
        )),
        None => err(format!(
            "the filter ends at position {start} where a value was expected"
        )),
    }
}

/// `@…` or `$…` and its steps.
fn path(cur: &mut Cursor) -> Result<(QueryKind, Vec<Step>), PathError> {
    let start = cur.pos;
    let kind = if cur.eat('@') {
        QueryKind::Current
    } else {
        cur.pos += 1; // '$'
        if matches!(cur.peek(), Some(c) if c == '$' || c.is_alphabetic() || c == '_') {
            return err(format!(
                "only '@' and '$' paths can be used inside a filter (position {start})"
            ));
        }
        QueryKind::Root
    };
    Ok((kind, parse_steps(cur)?))
}

fn word(cur: &mut Cursor) -> String {
    let start = cur.pos;
    while matches!(cur.peek(), Some(c) if c.is_alphanumeric() || c == '_') {
        cur.pos += 1;
    }
    cur.chars[start..cur.pos].iter().collect()
}

fn number(cur: &mut Cursor) -> Result<Literal, PathError> {
    let start = cur.pos;
    cur.eat('-');
    let digits = |cur: &mut Cursor| {
        let from = cur.pos;
        while matches!(cur.peek(), Some(c) if c.is_ascii_digit()) {
            cur.pos += 1;
        }
        cur.pos > from
    };
    let mut ok = digits(cur);
    if cur.peek() == Some('.') {
        cur.pos += 1;
        ok &= digits(cur);
    }
    if matches!(cur.peek(), Some('e' | 'E')) {
        cur.pos += 1;
        if matches!(cur.peek(), Some('+' | '-')) {
            cur.pos += 1;
        }
        ok &= digits(cur);
    }
    let text: String = cur.chars[start..cur.pos].iter().collect();
    match text.parse::<Number>() {
        Ok(n) if ok => Ok(Literal::Number(n)),
        _ => err(format!("invalid number '{text}' at position {start}")),
    }
}

/// A comparison operator, if one follows.
fn comparison(cur: &mut Cursor) -> Result<Option<ComparisonOperator>, PathError> {
    let at = cur.pos;
    let two = (cur.peek(), cur.peek_at(1));
    let (op, len) = match two {
        (Some('='), Some('=')) => (ComparisonOperator::EqualTo, 2),
        (Some('!'), Some('=')) => (ComparisonOperator::NotEqualTo, 2),
        (Some('<'), Some('=')) => (ComparisonOperator::LessThanEqualTo, 2),
        (Some('>'), Some('=')) => (ComparisonOperator::GreaterThanEqualTo, 2),
        (Some('<'), _) => (ComparisonOperator::LessThan, 1),
        (Some('>'), _) => (ComparisonOperator::GreaterThan, 1),
        (Some('='), Some('~')) => {
            return err(format!(
                "regular expressions ('=~' at position {at}) are not supported in filters"
            ))
        }
        (Some('='), _) => return err(format!("use '==' to compare (position {at})")),
        (Some(c), _) if c.is_alphabetic() => {
            let w = word(cur);
            cur.pos = at;
            if UNSUPPORTED_WORDS.contains(&w.as_str()) {
                return err(format!(
                    "the filter operator '{w}' (position {at}) is not supported"
                ));
            }
            return Ok(None);
        }
        _ => return Ok(None),
    };
    cur.pos += len;
    Ok(Some(op))
}

/// A comparison side: a literal, or a path that names at most one value.
fn comparable(o: Operand, at: usize) -> Result<Comparable, PathError> {
    match o {
        Operand::Literal(l) => Ok(Comparable::Literal(l)),
        Operand::Path(kind, steps) => {
            let mut segments = Vec::with_capacity(steps.len());
            for step in &steps {
                segments.push(match (&step.selector, step.descendant) {
                    (Selector::Name(n), false) => SingularQuerySegment::Name(Name(n.clone())),
                    (Selector::Index(i), false) => SingularQuerySegment::Index(Index(integer(*i)?)),
                    _ => {
                        return err(format!(
                            "the path at position {at} can select several values, so it cannot be compared"
                        ))
                    }
                });
            }
            Ok(Comparable::SingularQuery(SingularQuery {
                kind: match kind {
                    QueryKind::Root => SingularQueryKind::Absolute,
                    QueryKind::Current => SingularQueryKind::Relative,
                },
                segments,
            }))
        }
    }
}

fn integer(i: i64) -> Result<Integer, PathError> {
    Integer::try_from(i).or_else(|_| err(format!("the index {i} is out of range")))
}

/// The RFC 9535 query for `steps` from `kind`'s node.
pub(super) fn query(kind: QueryKind, steps: &[Step]) -> Result<Query, PathError> {
    let mut segments = Vec::with_capacity(steps.len());
    for step in steps {
        let selectors = match &step.selector {
            Selector::Name(n) => vec![Rfc::Name(Name(n.clone()))],
            Selector::Index(i) => vec![Rfc::Index(Index(integer(*i)?))],
            Selector::Wildcard => vec![Rfc::Wildcard],
            Selector::Slice { start, end, step } => {
                let bound = |v: &Option<i64>| v.map(integer).transpose();
                vec![Rfc::ArraySlice(Slice {
                    start: bound(start)?,
                    end: bound(end)?,
                    step: bound(step)?,
                })]
            }
            Selector::Names(ns) => ns.iter().map(|n| Rfc::Name(Name(n.clone()))).collect(),
            Selector::Indices(is) => is
                .iter()
                .map(|i| integer(*i).map(|i| Rfc::Index(Index(i))))
                .collect::<Result<_, _>>()?,
            Selector::Filter(f) => vec![Rfc::Filter((**f).clone())],
        };
        segments.push(QuerySegment {
            kind: if step.descendant {
                QuerySegmentKind::Descendant
            } else {
                QuerySegmentKind::Child
            },
            segment: Segment::LongHand(selectors),
        });
    }
    Ok(Query { kind, segments })
}
