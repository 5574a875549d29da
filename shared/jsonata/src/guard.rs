//! Bounds on what one evaluation may build, so that a short expression cannot allocate
//! gigabytes: `$pad('', 1e9)`, a `$replace` or `$join` whose output is a product of its
//! inputs, a string doubled by `&` forty times, `$string` of a structure that shares itself.
//!
//! The evaluator has no hook for this, so the parsed expression is rewritten once, when it
//! is parsed:
//!
//! - `a & b` becomes a call of a host function that concatenates as `&` does, after
//!   checking the size of the result;
//! - a call of a built-in that can grow its output (`$pad`, `$replace`, `$join`, `$string`,
//!   `$split`, `$match`, `$append`, `$zip`, the formatting and encoding functions …) becomes
//!   `(function($c, $0, …){ (pre('name', $c, $0, …); post('name', $name($0, …))) })($, a0, …)`:
//!   every argument is evaluated once, as before; `pre` refuses a call whose result would be
//!   too large before the built-in allocates it (computed from its arguments: the width of a
//!   `$pad`, the matches times the replacement of a `$replace` …), and `post` measures what
//!   the built-in returned.
//!
//! Every string or value so produced counts against the evaluation's budget
//! ([`crate::Limits::max_allocated_bytes`]), and none may be larger than
//! [`crate::Limits::max_value_bytes`]. The host functions have names no expression can
//! write, so nothing but this rewrite calls them.

use std::cell::Cell;
use std::rc::Rc;

use jsonata_core::ast::{AstNode, BinaryOp, Stage};
use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::functions::string::{build_regex, extract_regex, string as stringify};
use jsonata_core::value::{with_stack, JValue};

/// The error code of a refused size; JSONata has none of its own (`U` codes are the
/// implementation's, as the evaluator's U1001 for its depth backstop).
pub(crate) const CODE: &str = "U1010";

const CONCAT: &str = "·concat";
const PRE: &str = "·pre";
const POST: &str = "·post";
const CONTEXT: &str = "·c";
const RANGE_BOUND: &str = "·bound";
/// What `post` calls an array or object constructor in its messages.
const CONSTRUCTOR: &str = "an array or object constructor";

/// Built-ins whose result can be larger than their arguments, with how many leading
/// arguments they need before the context (`$`) fills in for the first one (`'x'.$pad(5)`),
/// for those whose signature lets it.
const GROWING: &[(&str, Option<usize>)] = &[
    ("pad", Some(2)),
    ("replace", Some(3)),
    ("join", None),
    ("string", Some(1)),
    ("split", Some(2)),
    ("match", Some(2)),
    ("append", None),
    ("zip", None),
    ("formatNumber", Some(2)),
    ("formatInteger", Some(2)),
    ("formatBase", Some(1)),
    ("base64encode", Some(1)),
    ("encodeUrl", Some(1)),
    ("encodeUrlComponent", Some(1)),
    ("uppercase", Some(1)),
    ("lowercase", Some(1)),
];

/// Rewrites `ast` as the module documentation says.
pub(crate) fn rewrite(ast: &mut AstNode) {
    rewrite_at(ast, true)
}

/// `wrap`: whether an array or object constructor here may be wrapped in a call. Not the
/// items of an array constructor (`[1, [2]]` keeps `[2]` nested, where the value of a call
/// would be flattened into it) nor the nodes of path steps.
fn rewrite_at(ast: &mut AstNode, wrap: bool) {
    with_stack(|| {
        // `x ~> $f(a)` is `$f(x, a)`; written so, the call can be guarded like any other
        // (the chain would otherwise hand `x` to the wrapper instead of to `$f`).
        if let AstNode::Binary {
            op: BinaryOp::ChainPipe,
            lhs,
            rhs,
        } = ast
        {
            if let AstNode::Function {
                name,
                args,
                is_builtin: true,
            } = rhs.as_mut()
            {
                if is_growing(name) && !args.iter().any(|a| matches!(a, AstNode::Placeholder)) {
                    let mut all = vec![std::mem::replace(lhs.as_mut(), AstNode::Null)];
                    all.append(args);
                    *ast = call(name, all);
                }
            }
        }
        children(ast, &mut |child, wrap| rewrite_at(child, wrap));
        match ast {
            AstNode::Binary {
                op: BinaryOp::Concatenate,
                lhs,
                rhs,
            } => {
                let lhs = std::mem::replace(lhs.as_mut(), AstNode::Null);
                let rhs = std::mem::replace(rhs.as_mut(), AstNode::Null);
                *ast = call(CONCAT, vec![lhs, rhs]);
            }
            AstNode::Function {
                name,
                args,
                is_builtin: true,
            } if is_growing(name) && !args.iter().any(|a| matches!(a, AstNode::Placeholder)) => {
                let name = name.clone();
                let args = std::mem::take(args);
                *ast = guarded_call(name, args);
            }
            AstNode::Binary {
                op: BinaryOp::Range,
                lhs,
                rhs,
            } => {
                for side in [lhs, rhs] {
                    let bound = std::mem::replace(side.as_mut(), AstNode::Null);
                    **side = call(RANGE_BOUND, vec![bound]);
                }
            }
            AstNode::Array(_) | AstNode::Object(_) | AstNode::ObjectTransform { .. } if wrap => {
                let built = std::mem::replace(ast, AstNode::Null);
                *ast = call(POST, vec![AstNode::String(CONSTRUCTOR.to_owned()), built]);
            }
            _ => {}
        }
    })
}

fn is_growing(name: &str) -> bool {
    GROWING.iter().any(|(g, _)| *g == name)
}

fn call(name: &str, args: Vec<AstNode>) -> AstNode {
    AstNode::Function {
        name: name.to_owned(),
        args,
        is_builtin: true,
    }
}

fn guarded_call(name: String, args: Vec<AstNode>) -> AstNode {
    let params: Vec<String> = (0..args.len()).map(|i| format!("·{i}")).collect();
    let vars = || params.iter().map(|p| AstNode::Variable(p.clone()));
    let mut pre_args = vec![
        AstNode::String(name.clone()),
        AstNode::Variable(CONTEXT.to_owned()),
    ];
    pre_args.extend(vars());
    let body = AstNode::Block(vec![
        call(PRE, pre_args),
        call(
            POST,
            vec![AstNode::String(name.clone()), call(&name, vars().collect())],
        ),
    ]);
    let mut call_args = vec![AstNode::Variable(String::new())];
    call_args.extend(args);
    let mut all_params = vec![CONTEXT.to_owned()];
    all_params.extend(params.iter().cloned());
    AstNode::Call {
        procedure: Box::new(AstNode::Lambda {
            params: all_params,
            body: Box::new(body),
            signature: None,
            thunk: false,
        }),
        args: call_args,
    }
}

/// Calls `f` on every direct child expression of `node`, saying whether a constructor may
/// be wrapped there.
fn children(node: &mut AstNode, f: &mut dyn FnMut(&mut AstNode, bool)) {
    match node {
        AstNode::Path { steps } => {
            for step in steps {
                f(&mut step.node, false);
                for stage in &mut step.stages {
                    if let Stage::Filter(e) = stage {
                        f(e, true);
                    }
                }
            }
        }
        AstNode::Array(items) | AstNode::ArrayGroup(items) => {
            items.iter_mut().for_each(|i| f(i, false))
        }
        AstNode::Binary { lhs, rhs, .. } => {
            f(lhs, true);
            f(rhs, true);
        }
        AstNode::Unary { operand, .. } => f(operand, true),
        AstNode::Function { args, .. } => args.iter_mut().for_each(|a| f(a, true)),
        AstNode::Call { procedure, args } => {
            f(procedure, true);
            args.iter_mut().for_each(|a| f(a, true));
        }
        AstNode::Lambda { body, .. } => f(body, true),
        AstNode::Block(items) => items.iter_mut().for_each(|i| f(i, true)),
        AstNode::Object(pairs) => {
            for (k, v) in pairs {
                f(k, true);
                f(v, true);
            }
        }
        AstNode::ObjectTransform { input, pattern } => {
            f(input, true);
            for (k, v) in pattern {
                f(k, true);
                f(v, true);
            }
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            f(condition, true);
            f(then_branch, true);
            if let Some(e) = else_branch {
                f(e, true);
            }
        }
        AstNode::FunctionApplication(inner) => f(inner, true),
        AstNode::Sort { input, terms } => {
            f(input, true);
            for (t, _) in terms {
                f(t, true);
            }
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            f(location, true);
            f(update, true);
            if let Some(d) = delete {
                f(d, true);
            }
        }
        AstNode::String(_)
        | AstNode::Name(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Placeholder
        | AstNode::Regex { .. }
        | AstNode::Variable(_)
        | AstNode::ParentVariable(_)
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Parent(_) => {}
    }
}

/// The sizes one evaluation works within (`None`: unbounded).
#[derive(Clone)]
pub(crate) struct Budget {
    max_value: Option<usize>,
    max_items: Option<usize>,
    max_total: Option<usize>,
    used: Rc<Cell<usize>>,
}

/// What one item of an array or member of an object takes, about (the evaluator's value
/// and its share of the vector or map holding it).
const ITEM_BYTES: usize = 32;

impl Budget {
    pub(crate) fn new(
        max_value: Option<usize>,
        max_items: Option<usize>,
        max_total: Option<usize>,
    ) -> Budget {
        Budget {
            max_value,
            max_items,
            max_total,
            used: Rc::new(Cell::new(0)),
        }
    }

    /// Counts a value just built: a string by its length, an array or object by its own
    /// items (not theirs, which it shares with whatever they came from). A string may not be
    /// larger than the value limit, nor an array longer than the sequence limit.
    fn charge_built(&self, what: &str, v: &JValue) -> Result<(), EvaluatorError> {
        let (items, bytes) = match v {
            JValue::String(s) => return self.charge(what, s.len()),
            JValue::Array(_) => {
                let n = v.as_array().map_or(0, Vec::len);
                (n, n * ITEM_BYTES)
            }
            JValue::Object(_) => match v.as_object() {
                Some(m) => (m.len(), m.keys().map(|k| k.len() + ITEM_BYTES).sum()),
                None => (0, 0),
            },
            _ => return Ok(()),
        };
        if let Some(max) = self.max_items {
            if items > max {
                return Err(EvaluatorError::EvaluationError(format!(
                    "D2015: The maximum sequence length of {max} was exceeded by {what} ({items} items)."
                )));
            }
        }
        self.count(bytes)
    }

    /// Measures at most this much of a value: enough to tell whether it is too large.
    fn cap(&self) -> usize {
        self.max_value.unwrap_or(usize::MAX / 2)
    }

    /// Refuses a result of `size` bytes from `what`, or counts it.
    fn charge(&self, what: &str, size: usize) -> Result<(), EvaluatorError> {
        if let Some(max) = self.max_value {
            if size > max {
                return Err(too_large(what, max));
            }
        }
        self.count(size)
    }

    fn count(&self, size: usize) -> Result<(), EvaluatorError> {
        let used = self.used.get().saturating_add(size);
        self.used.set(used);
        match self.max_total {
            Some(max) if used > max => Err(EvaluatorError::EvaluationError(format!(
                "{CODE}: The expression built more than {max} bytes of strings and values; \
                 the limit of one evaluation"
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses in advance a result that would be `size` bytes.
    fn check(&self, what: &str, size: usize) -> Result<(), EvaluatorError> {
        match self.max_value {
            Some(max) if size > max => Err(too_large(what, max)),
            _ => Ok(()),
        }
    }
}

fn too_large(what: &str, max: usize) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!(
        "{CODE}: The result of {what} would be larger than {max} bytes, the limit for one value"
    ))
}

/// The size of `v` as JSON text, counting shared parts as often as they appear, measured
/// up to a little past `cap` and without recursion.
pub(crate) fn size(v: &JValue, cap: usize) -> usize {
    let mut total = 0usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            JValue::String(s) => s.len() + 2,
            JValue::Number(_) => 8,
            JValue::Bool(_) | JValue::Null => 5,
            JValue::Array(_) => {
                let items = v.as_array().map_or(&[][..], |a| a.as_slice());
                stack.extend(items.iter());
                2 + items.len()
            }
            JValue::Object(_) => match v.as_object() {
                Some(map) => {
                    let mut keys = 2;
                    for (k, item) in map {
                        keys += k.len() + 4;
                        stack.push(item);
                    }
                    keys
                }
                None => 2,
            },
            _ => 0,
        };
        if total > cap {
            break;
        }
    }
    total
}

/// Registers the host functions the rewrite calls, checking against `budget`.
pub(crate) fn install(ev: &mut Evaluator, budget: &Budget) -> Result<(), EvaluatorError> {
    let b = budget.clone();
    ev.register_fn(CONCAT, move |args: &[JValue]| concat(args, &b))?;
    let b = budget.clone();
    ev.register_fn(PRE, move |args: &[JValue]| pre(args, &b))?;
    let b = budget.clone();
    ev.register_fn(POST, move |args: &[JValue]| post(args, &b))?;
    ev.register_fn(RANGE_BOUND, range_bound)?;
    Ok(())
}

/// A bound of `a..b`, passed on unchanged unless it is a number too large for the evaluator,
/// which computes the length of the range in 64-bit integers: `[-1e300..1e300]` overflowed
/// there (a panic in a debug build, an endless loop in a release build).
fn range_bound(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    const MAX: f64 = 9_007_199_254_740_992.0; // 2^53
    let v = args.first().cloned().unwrap_or(JValue::Undefined);
    match v.as_f64() {
        Some(n) if matches!(v, JValue::Number(_)) && n.abs() > MAX => {
            Err(EvaluatorError::EvaluationError(format!(
                "D2014: The bounds of a range must be between -2^53 and 2^53, not {n}"
            )))
        }
        _ => Ok(v),
    }
}

/// `&`: both sides as `$string` renders them (undefined as nothing), joined.
fn concat(args: &[JValue], budget: &Budget) -> Result<JValue, EvaluatorError> {
    let side = |v: Option<&JValue>| -> Result<Rc<str>, EvaluatorError> {
        match v {
            Some(JValue::String(s)) => Ok(s.clone()),
            Some(
                v @ (JValue::Null
                | JValue::Number(_)
                | JValue::Bool(_)
                | JValue::Array(_)
                | JValue::Object(_)),
            ) => {
                budget.check("'&'", size(v, budget.cap()))?;
                match stringify(v, None) {
                    Ok(JValue::String(s)) => Ok(s),
                    Ok(JValue::Null) => Ok(Rc::from("")),
                    _ => Err(EvaluatorError::TypeError(
                        "Cannot concatenate complex types".to_string(),
                    )),
                }
            }
            _ => Ok(Rc::from("")),
        }
    };
    let (left, right) = (side(args.first())?, side(args.get(1))?);
    let len = left.len() + right.len();
    budget.check("'&'", len)?;
    budget.charge("'&'", len)?;
    let mut out = String::with_capacity(len);
    out.push_str(&left);
    out.push_str(&right);
    Ok(JValue::string(out))
}

/// Checks a call of the built-in `args[0]` before it runs: `args[1]` is the context, the
/// rest its arguments as written.
fn pre(args: &[JValue], budget: &Budget) -> Result<JValue, EvaluatorError> {
    let (Some(JValue::String(name)), Some(context)) = (args.first(), args.get(1)) else {
        return Ok(JValue::Undefined);
    };
    let written = &args[2..];
    let needs = GROWING
        .iter()
        .find(|(g, _)| **g == **name)
        .and_then(|(_, n)| *n);
    let with_context;
    let operands: &[JValue] = match needs {
        Some(n) if written.len() < n => {
            with_context = std::iter::once(context.clone())
                .chain(written.iter().cloned())
                .collect::<Vec<_>>();
            &with_context
        }
        _ => written,
    };
    let what = format!("${name}");
    let arg = |i: usize| operands.get(i).unwrap_or(&JValue::Undefined);
    match &**name {
        "pad" => {
            if let Some(width) = arg(1).as_f64() {
                // `width` characters of padding, each as long as the longest of the padding.
                let unit = arg(2)
                    .as_str()
                    .and_then(|p| p.chars().map(char::len_utf8).max())
                    .unwrap_or(1);
                let chars = width.abs().min((usize::MAX / 8) as f64) as usize;
                budget.check(&what, chars.saturating_mul(unit))?;
            }
        }
        "replace" => {
            if let (Some(s), JValue::String(rep)) = (arg(0).as_str(), arg(2)) {
                let limit = arg(3).as_f64().map_or(usize::MAX, |n| n.max(0.0) as usize);
                let matches = match (arg(1), extract_regex(arg(1))) {
                    (_, Some((pattern, flags))) => match build_regex(&pattern, &flags) {
                        Ok(re) => re.find_iter(s).take(limit).count(),
                        Err(_) => 0, // the built-in reports it
                    },
                    (JValue::String(p), None) if !p.is_empty() => {
                        s.matches(&**p).take(limit).count()
                    }
                    _ => 0,
                };
                budget.check(
                    &what,
                    s.len().saturating_add(matches.saturating_mul(rep.len())),
                )?;
            }
        }
        "join" => {
            let sep = arg(1).as_str().map_or(0, str::len);
            if let Some(items) = arg(0).as_array() {
                let mut total = sep.saturating_mul(items.len().saturating_sub(1));
                for item in items {
                    total = total.saturating_add(item.as_str().map_or(0, str::len));
                    budget.check(&what, total)?;
                }
                budget.check(&what, total)?;
            }
        }
        "string" => {
            let v = arg(0);
            let mut bytes = size(v, budget.cap());
            if matches!(arg(1), JValue::Bool(true)) {
                // Indentation: at most a few bytes per value per level; bounded well enough
                // by counting every value again for each of a handful of levels.
                bytes = bytes.saturating_mul(4);
            }
            budget.check(&what, bytes)?;
        }
        "zip" | "append" => {
            let total = operands
                .iter()
                .fold(0usize, |t, v| t.saturating_add(size(v, budget.cap())));
            budget.check(&what, total)?;
        }
        _ => {}
    }
    Ok(JValue::Undefined)
}

/// Counts what the built-in or constructor `args[0]` returned (`args[1]`) against the
/// budget.
fn post(args: &[JValue], budget: &Budget) -> Result<JValue, EvaluatorError> {
    let (Some(JValue::String(name)), Some(result)) = (args.first(), args.get(1)) else {
        return Ok(args.get(1).cloned().unwrap_or(JValue::Undefined));
    };
    let what = if &**name == CONSTRUCTOR {
        CONSTRUCTOR.to_owned()
    } else {
        format!("${name}")
    };
    budget.charge_built(&what, result)?;
    Ok(result.clone())
}
