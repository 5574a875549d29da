//! `States.Format` and `States.StringSplit`.
//!
//! AWS runs these in Java, and it shows: values are interpolated as Java's `toString` renders
//! them (`{Arg1=1, Arg2=[]}` for an object), and splitting is `java.util.StringTokenizer`'s
//! (any character of the second argument separates, and empty pieces vanish).

use std::fmt::Write;

use serde_json::Value;

use super::{invalid, invalid_because, take, EvalResult, Function};

enum Token {
    Char(char),
    Hole,
}

/// Walks a template: its text (escapes resolved) and its `{}` placeholders, in order. `\`
/// escapes the next character, so `\{` is a brace; a `{` that does not open `{}`, or a lone
/// `}`, is an error. It allocates nothing: `States.Format` runs once per Map item.
fn walk(template: &str, mut each: impl FnMut(Token)) -> Result<(), &'static str> {
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => each(Token::Char(chars.next().unwrap_or('\\'))),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                each(Token::Hole);
            }
            '{' => return Err("matching '}' not found for '{'."),
            '}' => return Err("matching '{' not found for '}'."),
            c => each(Token::Char(c)),
        }
    }
    Ok(())
}

/// `raw_template` is the first argument's literal text with its escapes, when it was a
/// literal; a template read from a path is parsed as it stands.
pub(super) fn format(raw_template: Option<&str>, values: Vec<Value>) -> EvalResult {
    const F: Function = Function::Format;
    let mut values = values.into_iter();
    let from_path;
    let template = match (raw_template, values.next()) {
        (Some(raw), _) => raw,
        (None, Some(Value::String(s))) => {
            from_path = s;
            from_path.as_str()
        }
        _ => return invalid_because(F, "the first argument must be a string"),
    };
    let mut holes = 0;
    if let Err(detail) = walk(template, |t| holes += matches!(t, Token::Hole) as usize) {
        return invalid_because(F, format!("invalid template: {detail}"));
    }
    let values: Vec<Value> = values.collect();
    if holes != values.len() {
        return invalid_because(F, "number of arguments do not match the occurrences of {}.");
    }
    let mut out = String::with_capacity(template.len());
    let mut values = values.iter();
    let _ = walk(template, |t| match t {
        Token::Char(c) => out.push(c),
        Token::Hole => {
            if let Some(v) = values.next() {
                render_java(v, &mut out);
            }
        }
    });
    Ok(Value::String(out))
}

/// How a value reads when interpolated: strings bare, numbers, booleans and null as JSON
/// writes them, arrays and objects as Java's `List`/`Map` `toString` (`[1, 2]`,
/// `{a=1, b=x}`), recursively.
fn render_java(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_java(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                render_java(item, out);
            }
            out.push('}');
        }
    }
}

pub(super) fn split(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::StringSplit;
    let [text, delimiters] = take::<2>(F, values)?;
    let (Value::String(text), Value::String(delimiters)) = (text, delimiters) else {
        return invalid(F);
    };
    let pieces = text
        .split(|c: char| delimiters.contains(c))
        .filter(|piece| !piece.is_empty())
        .map(|piece| Value::String(piece.to_string()))
        .collect();
    Ok(Value::Array(pieces))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{invalid, ok};

    #[test]
    fn format_interpolates_values_as_aws_renders_them() {
        let f = "States.Format('fst={} and snd={}.', $.fst, $.snd)";
        let cases = [
            (json!({"fst": "", "snd": ""}), "fst= and snd=."),
            (json!({"fst": " ", "snd": "x"}), "fst=  and snd=x."),
            (json!({"fst": null, "snd": null}), "fst=null and snd=null."),
            (json!({"fst": 1, "snd": 1.1}), "fst=1 and snd=1.1."),
            (
                json!({"fst": true, "snd": false}),
                "fst=true and snd=false.",
            ),
            (
                json!({"fst": {"Arg1": 1, "Arg2": []}, "snd": [1, "a", null]}),
                "fst={Arg1=1, Arg2=[]} and snd=[1, a, null].",
            ),
            (
                json!({"fst": "{\"Arg1\": 1}", "snd": {"a": {"b": [{"c": "d"}]}}}),
                "fst={\"Arg1\": 1} and snd={a={b=[{c=d}]}}.",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(ok(f, input.clone()), json!(expected), "{input}");
        }
    }

    #[test]
    fn format_honours_escapes_in_a_literal_template() {
        assert_eq!(
            ok(
                r"States.Format('Name: \'{}\', set: \{{}\} path: C:\\x', $.n, $.n)",
                json!({"n": "G"})
            ),
            json!(r"Name: 'G', set: {G} path: C:\x")
        );
        assert_eq!(
            ok("States.Format('no placeholders')", json!({})),
            json!("no placeholders")
        );
        assert_eq!(
            ok("States.Format('  {}  ', 'x')", json!({})),
            json!("  x  ")
        );
    }

    #[test]
    fn format_takes_its_template_from_a_path() {
        assert_eq!(
            ok(
                "States.Format($.template, $.name)",
                json!({"template": "Hello, my name is {}.", "name": "Arnav"})
            ),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            ok(
                "States.Format($.t, States.JsonToString($.o))",
                json!({"t": "arn:{}", "o": {"k": 1}})
            ),
            json!("arn:{\"k\":1}")
        );
    }

    #[test]
    fn format_rejects_bad_templates_and_counts() {
        let cause = invalid("States.Format('{} {}', $.a)", json!({"a": "x"}));
        assert!(cause.ends_with(
            "Invalid arguments in States.Format: number of arguments do not match the occurrences of {}."
        ));
        invalid("States.Format('{}', $.a, $.b)", json!({"a": 1, "b": 2}));
        let cause = invalid("States.Format('Hello {', $.a)", json!({"a": "x"}));
        assert!(cause.contains("matching '}' not found for '{'"), "{cause}");
        invalid("States.Format('Hello {{}}', $.a)", json!({"a": "x"}));
        invalid("States.Format('}')", json!({}));
        invalid("States.Format($.t, 1)", json!({"t": 123}));
        invalid("States.Format(123)", json!({}));
    }

    #[test]
    fn split_breaks_on_any_delimiter_character_and_drops_empty_pieces() {
        let f = "States.StringSplit($.s, $.d)";
        let cases = [
            (
                "This.is+a,test=string",
                ".+,=",
                json!(["This", "is", "a", "test", "string"]),
            ),
            (",,,,", ",", json!([])),
            (", , ,", ",", json!([" ", " "])),
            (" ", ",", json!([" "])),
            ("", ",", json!([])),
            (
                "split on T and \nnew line",
                "T\n",
                json!(["split on ", " and ", "new line"]),
            ),
            ("abc", "", json!(["abc"])),
            ("1,2,3,4,5", ",", json!(["1", "2", "3", "4", "5"])),
            ("a→b→c", "→", json!(["a", "b", "c"])),
        ];
        for (s, d, expected) in cases {
            assert_eq!(ok(f, json!({"s": s, "d": d})), expected, "{s:?} by {d:?}");
        }
        assert_eq!(
            ok("States.StringSplit('a b c', ' ')", json!({})),
            json!(["a", "b", "c"])
        );
    }

    #[test]
    fn split_wants_two_strings() {
        invalid("States.StringSplit($.s, ',')", json!({"s": 1}));
        invalid("States.StringSplit('a,b', $.d)", json!({"d": null}));
        invalid("States.StringSplit($.s, ',')", json!({"s": ["a,b"]}));
    }
}
