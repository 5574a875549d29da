//! The syntax of intrinsic calls: `States.Name(arg, …)` where an argument is a single-quoted
//! string, a number, `true`, `false`, `null`, a path, or another call.
//!
//! Everything a definition can get wrong without running is rejected here, so that
//! `waymark validate` reports it: unknown names, argument counts, malformed literals and
//! escapes, unbalanced quotes, brackets and parentheses, and text after the call.

use super::{Arg, Call, Function, IntrinsicSyntaxError, StringLiteral};
use crate::path::Path;

/// AWS allows at most 10 intrinsic functions nested in one field.
const MAX_DEPTH: usize = 10;

const PREFIX: &str = "States.";

pub(super) fn parse(src: &str) -> Result<Call, IntrinsicSyntaxError> {
    let mut p = Parser {
        chars: src.chars().collect(),
        pos: 0,
    };
    p.skip_blanks();
    if !p.looking_at(PREFIX) {
        return p.fail(format!(
            "an intrinsic function call must start with '{PREFIX}', \
             as in States.Format('Hello {{}}', $.name)"
        ));
    }
    let call = p.call(1)?;
    p.skip_blanks();
    if p.pos < p.chars.len() {
        let rest: String = p.chars[p.pos..].iter().collect();
        return p.fail(format!(
            "unexpected '{rest}' after the closing parenthesis of {}",
            call.function.name()
        ));
    }
    Ok(call)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

/// Where an argument sits, for messages.
#[derive(Clone, Copy)]
struct Slot {
    function: Function,
    index: usize,
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "argument {} of {}", self.index, self.function.name())
    }
}

impl Parser {
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, IntrinsicSyntaxError> {
        self.fail_at(self.pos, message)
    }

    fn fail_at<T>(
        &self,
        position: usize,
        message: impl Into<String>,
    ) -> Result<T, IntrinsicSyntaxError> {
        Err(IntrinsicSyntaxError {
            message: format!("{} (at character {position})", message.into()),
            position,
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn looking_at(&self, s: &str) -> bool {
        (self.pos..)
            .zip(s.chars())
            .all(|(i, c)| self.chars.get(i) == Some(&c))
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("'{c}'"),
            None => "the end of the text".into(),
        }
    }

    /// Parses `States.Name(args)`; `pos` is at `States.`.
    fn call(&mut self, depth: usize) -> Result<Call, IntrinsicSyntaxError> {
        let start = self.pos;
        self.pos += PREFIX.len();
        let name_start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if self.pos == name_start {
            return self.fail(format!("a function name must follow '{PREFIX}'"));
        }
        let Some(function) = Function::from_name(&name) else {
            let known: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
            return self.fail_at(
                start,
                format!(
                    "unknown intrinsic function '{name}'; the functions are {}",
                    known.join(", ")
                ),
            );
        };
        if depth > MAX_DEPTH {
            return self.fail_at(
                start,
                format!(
                    "{name} is nested too deeply: AWS allows at most {MAX_DEPTH} intrinsic \
                     functions nested in one field"
                ),
            );
        }
        if !self.eat('(') {
            return self.fail(format!(
                "expected '(' right after {name}, found {}",
                self.found()
            ));
        }
        let mut args = Vec::new();
        self.skip_blanks();
        if !self.eat(')') {
            loop {
                self.skip_blanks();
                let slot = Slot {
                    function,
                    index: args.len() + 1,
                };
                args.push(self.arg(slot, depth)?);
                self.skip_blanks();
                if self.eat(',') {
                    continue;
                }
                if self.eat(')') {
                    break;
                }
                if self.peek().is_none() {
                    return self.fail_at(
                        start,
                        format!("unbalanced parentheses: the '(' of {name} is never closed"),
                    );
                }
                return self.fail(format!(
                    "expected ',' or ')' after {slot}, found {}",
                    self.found()
                ));
            }
        }
        check_arity(function, args.len()).or_else(|m| self.fail_at(start, m))?;
        Ok(Call { function, args })
    }

    fn arg(&mut self, slot: Slot, depth: usize) -> Result<Arg, IntrinsicSyntaxError> {
        match self.peek() {
            None => self.fail(format!("{slot} is missing: the text ends before it")),
            Some(',' | ')') => self.fail(format!(
                "{slot} is missing: nothing before {}",
                self.found()
            )),
            Some('\'') => self.string(slot).map(Arg::Str),
            Some('$') => self.path(slot).map(Arg::Path),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(slot).map(Arg::Number),
            Some(_) if self.looking_at(PREFIX) => self.call(depth + 1).map(Arg::Call),
            Some(c) if c.is_alphanumeric() || c == '_' => self.word(slot),
            Some(_) => self.fail(format!(
                "{slot} cannot start with {}: an argument is a string in single quotes, a number, \
                 true, false, null, a path starting with '$', or a States.* call",
                self.found()
            )),
        }
    }

    /// A single-quoted literal with AWS's four escapes.
    fn string(&mut self, slot: Slot) -> Result<StringLiteral, IntrinsicSyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => {
                    return self.fail_at(
                        start,
                        format!("unterminated string in {slot}: the opening ' has no closing '"),
                    )
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(StringLiteral { value, raw });
                }
                Some('\\') => {
                    let escaped = self.chars.get(self.pos + 1).copied();
                    match escaped {
                        Some(c @ ('\'' | '{' | '}' | '\\')) => {
                            raw.push('\\');
                            raw.push(c);
                            value.push(c);
                            self.pos += 2;
                        }
                        Some(c) => {
                            return self.fail(format!(
                            "invalid escape '\\{c}' in the string of {slot}: only \\', \\{{, \\}} \
                                 and \\\\ are escapes (write \\\\ for a backslash)"
                        ))
                        }
                        None => {
                            return self.fail_at(
                                start,
                                format!(
                                    "unterminated string in {slot}: it ends with a lone backslash"
                                ),
                            )
                        }
                    }
                }
                Some(c) => {
                    raw.push(c);
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A path runs to the next `,`, `)` or blank that is not inside brackets, parentheses or
    /// quotes, so `$['a, b']` and filters like `$.a[?(@.b > 1)]` stay whole.
    fn path(&mut self, slot: Slot) -> Result<Path, IntrinsicSyntaxError> {
        let start = self.pos;
        let mut nesting: Vec<char> = Vec::new();
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            if let Some(q) = quote {
                if c == '\\' {
                    self.pos += 1;
                } else if c == q {
                    quote = None;
                }
                self.pos += 1;
                continue;
            }
            match c {
                '\'' | '"' if !nesting.is_empty() => quote = Some(c),
                '[' => nesting.push(']'),
                '(' => nesting.push(')'),
                ']' | ')' if nesting.last() == Some(&c) => {
                    nesting.pop();
                }
                ']' => return self.fail(format!("unbalanced ']' in the path of {slot}")),
                ',' | ')' if nesting.is_empty() => break,
                c if c.is_whitespace() && nesting.is_empty() => break,
                _ => {}
            }
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos.min(self.chars.len())]
            .iter()
            .collect();
        if quote.is_some() {
            return self.fail_at(
                start,
                format!("unterminated quote in the path '{text}' of {slot}"),
            );
        }
        if let Some(close) = nesting.last() {
            return self.fail_at(
                start,
                format!("the path '{text}' of {slot} is missing a '{close}'"),
            );
        }
        Path::parse(&text)
            .or_else(|e| self.fail_at(start, format!("invalid path '{text}' in {slot}: {e}")))
    }

    fn number(&mut self, slot: Slot) -> Result<serde_json::Number, IntrinsicSyntaxError> {
        let start = self.pos;
        let in_number = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+');
        while self.peek().is_some_and(in_number) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        // JSON's number grammar, which is also AWS's: no leading zeros, no bare '.', no '+'.
        match text.parse::<serde_json::Number>() {
            Ok(n) if !text.starts_with('+') => Ok(n),
            _ => self.fail_at(
                start,
                format!(
                    "malformed number '{text}' as {slot}: expected an integer or a decimal \
                     such as -1, 42 or 3.5"
                ),
            ),
        }
    }

    fn word(&mut self, slot: Slot) -> Result<Arg, IntrinsicSyntaxError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '_' || c == '.') {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match word.as_str() {
            "true" => Ok(Arg::Bool(true)),
            "false" => Ok(Arg::Bool(false)),
            "null" => Ok(Arg::Null),
            _ => self.fail_at(
                start,
                format!(
                    "unexpected '{word}' as {slot}: strings need single quotes ('{word}'), \
                     and paths start with '$'"
                ),
            ),
        }
    }
}

fn check_arity(function: Function, given: usize) -> Result<(), String> {
    let (min, max) = function.arity();
    let (bound, n) = match max {
        Some(max) if min == max && given != min => ("exactly", min),
        Some(max) if given > max => ("at most", max),
        _ if given < min => ("at least", min),
        _ => return Ok(()),
    };
    let noun = if n == 1 { "argument" } else { "arguments" };
    let verb = if given == 1 { "was" } else { "were" };
    Err(format!(
        "{} takes {bound} {n} {noun} ({}), but {given} {verb} given",
        function.name(),
        function.params()
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::Intrinsic;
    use super::*;

    fn parse_err(src: &str) -> String {
        match Intrinsic::parse(src) {
            Ok(i) => panic!("{src} should not parse: {i:?}"),
            Err(e) => e.message,
        }
    }

    fn only_arg(src: &str) -> Arg {
        let call = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        call.args.into_iter().next().expect("one argument")
    }

    #[test]
    fn parses_every_kind_of_argument() {
        let call =
            parse("States.Array('a', -1.5, 42, true, false, null, $.x, States.UUID())").unwrap();
        assert_eq!(call.function, Function::Array);
        assert_eq!(call.args.len(), 8);
        assert!(matches!(&call.args[0], Arg::Str(s) if s.value == "a"));
        assert!(matches!(&call.args[1], Arg::Number(n) if n.as_f64() == Some(-1.5)));
        assert!(matches!(&call.args[2], Arg::Number(n) if n.as_i64() == Some(42)));
        assert_eq!(call.args[3], Arg::Bool(true));
        assert_eq!(call.args[4], Arg::Bool(false));
        assert_eq!(call.args[5], Arg::Null);
        assert!(matches!(&call.args[6], Arg::Path(p) if p.source() == "$.x"));
        assert!(matches!(&call.args[7], Arg::Call(c) if c.function == Function::Uuid));
    }

    #[test]
    fn accepts_blanks_between_tokens_but_not_inside_names() {
        assert!(Intrinsic::parse("  States.Array( 1 ,\n2 )  ").is_ok());
        assert!(Intrinsic::parse("States.Format('{}',$.a)").is_ok());
        assert!(parse_err("States.Array (1)").contains("expected '(' right after States.Array"));
    }

    #[test]
    fn unescapes_string_literals_as_aws_documents() {
        match only_arg(r"States.Array('it\'s \{x\} a\\b')") {
            Arg::Str(s) => {
                assert_eq!(s.value, r"it's {x} a\b");
                assert_eq!(s.raw, r"it\'s \{x\} a\\b");
            }
            other => panic!("{other:?}"),
        }
        // Double quotes and bare braces are ordinary characters.
        match only_arg(r#"States.StringToJson('{"a": "b"}')"#) {
            Arg::Str(s) => assert_eq!(s.value, r#"{"a": "b"}"#),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_open_escapes_and_unterminated_strings() {
        let m = parse_err(r"States.Base64Decode('YWJj\nZA==')");
        assert!(
            m.contains(r"invalid escape '\n'") && m.contains("argument 1 of States.Base64Decode"),
            "{m}"
        );
        let m = parse_err("States.Format('Hello {}, $.name)");
        assert!(
            m.contains("unterminated string in argument 1 of States.Format"),
            "{m}"
        );
        assert!(parse_err("States.Array('a\\')").contains("unterminated string"));
    }

    #[test]
    fn paths_keep_brackets_quotes_and_filters_whole() {
        assert!(
            matches!(only_arg("States.Array($['a, b'])"), Arg::Path(p) if p.source() == "$['a, b']")
        );
        assert!(matches!(
            only_arg("States.ArrayLength($.items[?(@.n > 1)])"),
            Arg::Path(p) if p.source() == "$.items[?(@.n > 1)]"
        ));
        assert!(
            matches!(only_arg("States.Array($$.Execution.Id)"), Arg::Path(p) if p.source() == "$$.Execution.Id")
        );
        assert!(
            matches!(only_arg("States.Array($myVariable.x)"), Arg::Path(p) if p.source() == "$myVariable.x")
        );
        assert!(matches!(only_arg("States.Array($)"), Arg::Path(p) if p.source() == "$"));
        assert!(parse_err("States.Array($.a[0)").contains("missing a ']'"));
        assert!(parse_err("States.Array($.a])").contains("unbalanced ']'"));
        assert!(parse_err("States.Array($..)")
            .contains("invalid path '$..' in argument 1 of States.Array"));
        assert!(parse_err("States.Array($.a $.b)").contains("expected ',' or ')' after argument 1"));
    }

    #[test]
    fn numbers_follow_json_grammar() {
        for good in ["0", "-1", "3.5", "-0.25", "1e3", "12345678901234"] {
            assert!(
                matches!(only_arg(&format!("States.Array({good})")), Arg::Number(_)),
                "{good}"
            );
        }
        for bad in ["1.", "01", "--1", "1.2.3", "-", "1x", ".5"] {
            let m = parse_err(&format!("States.Array({bad})"));
            assert!(
                m.contains("malformed number") || m.contains("cannot start with"),
                "{bad}: {m}"
            );
        }
    }

    #[test]
    fn rejects_bare_words() {
        let m = parse_err("States.Array(hello)");
        assert!(
            m.contains("unexpected 'hello' as argument 1 of States.Array"),
            "{m}"
        );
        assert!(parse_err("States.Array(True)").contains("unexpected 'True'"));
    }

    #[test]
    fn rejects_unknown_functions() {
        let m = parse_err("States.MathMultiply(1, 2)");
        assert!(
            m.contains("unknown intrinsic function 'States.MathMultiply'"),
            "{m}"
        );
        assert!(m.contains("States.MathAdd"), "{m}");
        assert!(parse_err("States.format('x')").contains("unknown intrinsic function"));
        assert!(parse_err("States.(1)").contains("a function name must follow"));
        assert!(parse_err("$.a").contains("must start with 'States.'"));
        assert!(parse_err("").contains("must start with 'States.'"));
    }

    #[test]
    fn checks_argument_counts() {
        let m = parse_err("States.ArrayRange(1, 5)");
        assert_eq!(
            m,
            "States.ArrayRange takes exactly 3 arguments (start, end, step), but 2 were given (at character 0)"
        );
        assert!(parse_err("States.UUID(1)")
            .contains("States.UUID takes exactly 0 arguments (), but 1 was given"));
        assert!(
            parse_err("States.Format()").contains("takes at least 1 argument (template, value…)")
        );
        assert!(parse_err("States.MathRandom(1)").contains("takes at least 2 arguments"));
        assert!(parse_err("States.MathRandom(1, 2, 3, 4)").contains("takes at most 3 arguments"));
        assert!(parse_err("States.JsonMerge($.a, $.b)").contains("exactly 3"));
        assert!(parse_err("States.Hash('a', 'MD5', 'x')").contains("exactly 2"));
        // Nested calls are checked too, and named.
        assert!(parse_err("States.Array(States.ArrayLength())")
            .contains("States.ArrayLength takes exactly 1"));
        for ok in [
            "States.Array()",
            "States.UUID()",
            "States.MathRandom(1, 2)",
            "States.MathRandom(1, 2, 3)",
        ] {
            assert!(Intrinsic::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_missing_arguments_and_unbalanced_parentheses() {
        assert!(parse_err("States.ArrayPartition($.arr, )")
            .contains("argument 2 of States.ArrayPartition is missing"));
        assert!(parse_err("States.Array(,1)").contains("argument 1 of States.Array is missing"));
        assert!(parse_err("States.Array(1,").contains("is missing: the text ends"));
        assert!(parse_err("States.Array(1").contains("unbalanced parentheses"));
        assert!(parse_err("States.Array(States.Array(1)").contains("unbalanced parentheses"));
        assert!(parse_err("States.Array").contains("expected '('"));
    }

    #[test]
    fn rejects_trailing_text() {
        let m = parse_err("States.Array(1))");
        assert!(
            m.contains("unexpected ')' after the closing parenthesis of States.Array"),
            "{m}"
        );
        assert!(parse_err("States.Array(1) x").contains("unexpected 'x'"));
        assert!(parse_err("States.Array(1)States.Array(2)").contains("unexpected"));
    }

    #[test]
    fn limits_nesting_to_ten_functions() {
        let nest = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
        assert!(Intrinsic::parse(&nest(10)).is_ok());
        assert!(parse_err(&nest(11)).contains("nested too deeply"));
        // AWS's own example: nine functions in one field.
        let arn = "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))";
        assert!(Intrinsic::parse(arn).is_ok());
    }

    #[test]
    fn positions_point_at_the_problem() {
        let e = Intrinsic::parse("States.Array(1, hello)").unwrap_err();
        assert_eq!(e.position, 16);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(s in ".*") {
            let _ = Intrinsic::parse(&s);
        }

        #[test]
        fn never_panics_on_intrinsic_like_text(s in "States\\.[A-Za-z]{0,14}\\(([-$'\\\\(),.\\[\\]{} a-z0-9@?*\"]{0,40})\\)?") {
            let _ = Intrinsic::parse(&s);
        }

        #[test]
        fn string_literals_round_trip(s in "[^\\\\']{0,20}") {
            let src = format!("States.Array('{s}')");
            match only_arg(&src) {
                Arg::Str(lit) => prop_assert_eq!(lit.value, s),
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
