//! Runs every case of the JSONata 2.0.6 reference suite (the kit folder
//! `shared/jsonata-suite` beside the repository) through our API, and fails
//! on any case that does not behave as JSONata 2.0.6 does, unless the case
//! is in [`SKIP`] with the reason it cannot or must not pass.
//!
//! The kit is not part of a clone of the repository: without it the suite is
//! not run, and says so on stderr (which `cargo test` shows even for a test
//! that passes). When `WAYMARK_KIT_REPORT` names a directory, the test also
//! writes there, in a file `jsonata-suite`, one line saying whether it ran and
//! how, for `scripts/test`'s summary.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use waymark_jsonata::{ErrorKind, Expression, Host, Limits};

/// `shared/jsonata-suite` in the kit beside the repository (this crate is
/// `<repository>/shared/jsonata`).
fn suite_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let beside_repository = crate_dir.ancestors().nth(3).unwrap_or(crate_dir);
    beside_repository.join("shared").join("jsonata-suite")
}

/// Cases we do not hold to the 2.0.6 result, each with its reason. A listed
/// case that starts passing fails the run, so the list cannot go stale.
const SKIP: &[(&str, &str)] = &[
    (
        "function-encodeUrl/case002",
        "its JSON holds a lone UTF-16 surrogate (\\uD800), which no Rust string can carry",
    ),
    (
        "function-encodeUrlComponent/case002",
        "its JSON holds a lone UTF-16 surrogate (\\uD800), which no Rust string can carry",
    ),
    (
        "range-operator/case021",
        "10^7 items (about 800 MB) is over Waymark's sequence limit of 10^6 (README: Limits)",
    ),
    (
        "range-operator/case024",
        "10^7 items (about 800 MB) is over Waymark's sequence limit of 10^6 (README: Limits)",
    ),
    ("function-eval/case000", "Step Functions refuses $eval"),
    ("function-eval/case001", "Step Functions refuses $eval"),
    ("function-eval/case002", "Step Functions refuses $eval"),
    ("function-eval/case003", "Step Functions refuses $eval"),
    ("function-eval/case004", "Step Functions refuses $eval"),
    ("function-eval/case005", "Step Functions refuses $eval"),
    ("function-eval/case006", "Step Functions refuses $eval"),
    ("function-eval/case007", "Step Functions refuses $eval"),
    ("function-eval/case008", "Step Functions refuses $eval"),
];

/// The real clock, because one case compares `$now()` with the date
/// `$toMillis` fills in from the system clock; fixed entropy, so runs repeat.
struct SuiteHost;

impl Host for SuiteHost {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn entropy(&self) -> u64 {
        0x5eed
    }
}

enum Expect {
    Value { value: Value, unordered: bool },
    Undefined,
    Code(String),
}

struct Case {
    name: String,
    expr: String,
    input: Option<Value>,
    bindings: Map<String, Value>,
    limits: Limits,
    expect: Expect,
}

/// Every case, or for a file that cannot be read as a case, its problem.
fn load(root: &Path) -> Vec<(String, Result<Case, String>)> {
    let mut out = Vec::new();
    let mut groups = dir(&root.join("groups"));
    groups.sort();
    for group in groups {
        let mut files = dir(&group);
        files.sort();
        for file in files {
            if file.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let name = format!("{}/{}", stem(&group, true), stem(&file, false));
            let parsed = std::fs::read_to_string(&file)
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
            match parsed {
                Err(e) => out.push((name, Err(format!("unreadable case file: {e}")))),
                Ok(Value::Array(cases)) => {
                    for (i, case) in cases.iter().enumerate() {
                        out.push((format!("{name}[{i}]"), case_of(root, &group, case)));
                    }
                }
                Ok(case) => out.push((name.clone(), case_of(root, &group, &case))),
            }
        }
    }
    out
}

fn dir(path: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(path)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn stem(path: &Path, whole: bool) -> String {
    let part = if whole {
        path.file_name()
    } else {
        path.file_stem()
    };
    part.and_then(|s| s.to_str()).unwrap_or_default().to_owned()
}

fn case_of(root: &Path, group: &Path, case: &Value) -> Result<Case, String> {
    let expr = match (case.get("expr"), case.get("expr-file")) {
        (Some(Value::String(e)), _) => e.clone(),
        (_, Some(Value::String(file))) => {
            std::fs::read_to_string(group.join(file)).map_err(|e| format!("{file}: {e}"))?
        }
        _ => return Err("no expr".into()),
    };
    let input = match (case.get("data"), case.get("dataset")) {
        (Some(data), _) => Some(data.clone()),
        (None, Some(Value::String(set))) => {
            let path = root.join("datasets").join(format!("{set}.json"));
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{set}: {e}"))?;
            Some(serde_json::from_str(&text).map_err(|e| format!("{set}: {e}"))?)
        }
        _ => None,
    };
    let expect = if let Some(value) = case.get("result") {
        Expect::Value {
            value: value.clone(),
            unordered: case.get("unordered") == Some(&Value::Bool(true)),
        }
    } else if case.get("undefinedResult") == Some(&Value::Bool(true)) {
        Expect::Undefined
    } else if let Some(Value::String(code)) = case
        .get("code")
        .or_else(|| case.get("error").and_then(|e| e.get("code")))
    {
        Expect::Code(code.clone())
    } else {
        return Err("no expected outcome".into());
    };
    let mut limits = Limits::default();
    if let Some(depth) = case.get("depth").and_then(Value::as_u64) {
        limits.max_depth = usize::try_from(depth).ok();
    }
    if let Some(ms) = case.get("timelimit").and_then(Value::as_u64) {
        limits.timeout = Some(Duration::from_millis(ms));
    }
    Ok(Case {
        name: String::new(),
        expr,
        input,
        bindings: case
            .get("bindings")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        limits,
        expect,
    })
}

/// `Ok` if the case behaves as expected, else what happened instead.
fn run(case: &Case) -> Result<(), String> {
    let outcome = Expression::parse(&case.expr).and_then(|e| {
        e.with_limits(case.limits.clone()).evaluate_input(
            case.input.as_ref(),
            &case.bindings,
            &SuiteHost,
        )
    });
    let pass = match (&case.expect, &outcome) {
        (Expect::Value { value, unordered }, Ok(Some(got))) => {
            if *unordered {
                same_members(value, got)
            } else {
                same(value, got)
            }
        }
        (Expect::Undefined, Ok(None)) => true,
        (Expect::Code(code), Err(e)) => e.code.as_deref() == Some(code.as_str()),
        _ => false,
    };
    if pass {
        return Ok(());
    }
    let want = match &case.expect {
        Expect::Value { value, .. } => value.to_string(),
        Expect::Undefined => "undefined".into(),
        Expect::Code(code) => format!("error {code}"),
    };
    let got = match outcome {
        Ok(Some(v)) => v.to_string(),
        Ok(None) => "undefined".into(),
        Err(e) => format!("error {e} ({:?})", e.kind),
    };
    Err(format!("want {want}, got {got}"))
}

/// Deep equality with numbers compared as JavaScript compares them.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// For cases marked `unordered`: the same items in any order.
fn same_members(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            let mut left: Vec<&Value> = y.iter().collect();
            x.iter()
                .all(|item| match left.iter().position(|c| same(item, c)) {
                    Some(i) => {
                        left.swap_remove(i);
                        true
                    }
                    None => false,
                })
        }
        _ => same(a, b),
    }
}

/// Says what became of the suite where `scripts/test` reads it.
fn report(line: &str) {
    if let Some(dir) = std::env::var_os("WAYMARK_KIT_REPORT") {
        let path = Path::new(&dir).join("jsonata-suite");
        if let Err(e) = std::fs::write(&path, format!("{line}\n")) {
            panic!("cannot write the kit report {}: {e}", path.display());
        }
    }
}

#[test]
fn jsonata_reference_suite() {
    let root = &suite_root();
    if !root.exists() {
        let line = format!(
            "NOT RUN: the kit is absent ({} does not exist; it comes with ../shared beside the repository)",
            root.display()
        );
        // Straight to the stderr handle: the test harness captures `eprintln!`.
        let _ = writeln!(std::io::stderr(), "jsonata_reference_suite {line}");
        report(&line);
        return;
    }
    assert!(
        root.join("groups").is_dir(),
        "JSONata suite not found at {}",
        root.display()
    );
    let skips: BTreeMap<&str, &str> = SKIP.iter().copied().collect();
    let (mut passed, mut skipped) = (0usize, 0usize);
    let mut failures = Vec::new();
    let mut stale = Vec::new();
    for (name, case) in load(root) {
        let result = case.and_then(|mut c| {
            c.name.clone_from(&name);
            run(&c)
        });
        // A file holding several cases is skipped as a whole by its name.
        let file = name.split('[').next().unwrap_or(&name);
        match (skips.get(file), result) {
            (Some(_), Ok(())) => stale.push(name),
            (Some(reason), Err(_)) => {
                println!("SKIP {name}: {reason}");
                skipped += 1;
            }
            (None, Ok(())) => passed += 1,
            (None, Err(why)) => failures.push(format!("{name}: {why}")),
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    for s in &stale {
        println!("STALE SKIP {s}: passes now, remove it from SKIP");
    }
    let line = format!(
        "ran: {passed} passed, {} failed, {skipped} skipped",
        failures.len() + stale.len()
    );
    println!("jsonata-suite: {line}");
    report(&line);
    assert!(
        failures.is_empty() && stale.is_empty(),
        "{} suite cases failed, {} skip entries are stale",
        failures.len(),
        stale.len()
    );
}

#[test]
fn the_skipped_range_cases_fail_on_the_sequence_limit() {
    // They must fail because of the limit, not for some other reason.
    for expr in ["[1..10000000] ~> $count()", "[100..10000099] ~> $count()"] {
        let e = Expression::parse(expr)
            .and_then(|e| e.evaluate_input(None, &Map::new(), &SuiteHost))
            .unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (ErrorKind::Limit, Some("D2015"))
        );
    }
}

#[test]
fn eval_cases_fail_as_unsupported() {
    // The skipped $eval cases must fail because $eval is refused, not for
    // some other reason.
    let e = Expression::parse("$eval('1')")
        .and_then(|e| e.evaluate_input(None, &Map::new(), &SuiteHost))
        .err();
    assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Unsupported));
}
