//! Which parts of an expression read the implicit input document. Step Functions evaluates
//! expressions with no input document (data comes through `$states` and variables), and the
//! States Language forbids `$`, `$$` and unqualified field names where they would read it:
//! at the top level of the expression, or `$$` anywhere. AWS refuses such definitions, so
//! the check runs when a definition is parsed rather than failing executions later.

use jsonata_core::ast::{AstNode, PathStep, Stage};

/// A read of the input document that the States Language forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputReference {
    /// An unqualified field name at the top level (`total`, `total.amount`).
    Field(String),
    /// `$` at the top level (`$`, `$.total`).
    Context,
    /// `$$`, at any depth.
    Root,
}

/// The forbidden reads of `ast`, each reported once, in the order they appear.
pub(crate) fn input_references(ast: &AstNode) -> Vec<InputReference> {
    let mut out = Vec::new();
    walk(ast, true, &mut out);
    out
}

fn push(out: &mut Vec<InputReference>, r: InputReference) {
    if !out.contains(&r) {
        out.push(r);
    }
}

/// `top`: whether `node` is evaluated against the expression's own input (what a bare name
/// would read) rather than a context the expression set up itself (a path step after the
/// first, a predicate, a lambda's argument).
fn walk(node: &AstNode, top: bool, out: &mut Vec<InputReference>) {
    match node {
        AstNode::Name(n) => {
            if top {
                push(out, InputReference::Field(n.clone()));
            }
        }
        AstNode::Variable(v) => {
            if top && v.is_empty() {
                push(out, InputReference::Context);
            }
        }
        AstNode::ParentVariable(v) => {
            if v.is_empty() {
                push(out, InputReference::Root);
            }
        }
        AstNode::Path { steps } => {
            for (i, step) in steps.iter().enumerate() {
                walk_step(step, top && i == 0, out);
            }
        }
        AstNode::Binary { lhs, rhs, .. } => {
            walk(lhs, top, out);
            walk(rhs, top, out);
        }
        AstNode::Unary { operand, .. } => walk(operand, top, out),
        AstNode::Function { args, .. } => {
            for a in args {
                walk(a, top, out);
            }
        }
        AstNode::Call { procedure, args } => {
            walk(procedure, top, out);
            for a in args {
                walk(a, top, out);
            }
        }
        // A lambda's body reads whatever its caller passes; only `$$` is wrong there.
        AstNode::Lambda { body, .. } => walk(body, false, out),
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
            for i in items {
                walk(i, top, out);
            }
        }
        AstNode::Object(pairs) => {
            for (k, v) in pairs {
                walk(k, top, out);
                walk(v, top, out);
            }
        }
        AstNode::ObjectTransform { input, pattern } => {
            walk(input, top, out);
            for (k, v) in pattern {
                walk(k, false, out);
                walk(v, false, out);
            }
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            walk(condition, top, out);
            walk(then_branch, top, out);
            if let Some(e) = else_branch {
                walk(e, top, out);
            }
        }
        AstNode::FunctionApplication(e) => walk(e, false, out),
        AstNode::Sort { input, terms } => {
            walk(input, top, out);
            for (t, _) in terms {
                walk(t, false, out);
            }
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            walk(location, false, out);
            walk(update, false, out);
            if let Some(d) = delete {
                walk(d, false, out);
            }
        }
        AstNode::String(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Placeholder
        | AstNode::Regex { .. }
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Parent(_) => {}
    }
}

fn walk_step(step: &PathStep, top: bool, out: &mut Vec<InputReference>) {
    walk(&step.node, top, out);
    for stage in &step.stages {
        if let Stage::Filter(e) = stage {
            walk(e, false, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InputReference::{self, Context, Field, Root};
    use crate::Expression;

    fn refs(src: &str) -> Vec<InputReference> {
        Expression::parse(src).unwrap().input_references()
    }

    fn field(n: &str) -> InputReference {
        Field(n.to_string())
    }

    #[test]
    fn top_level_names_and_dollar_are_reads_of_the_input() {
        assert_eq!(refs("total"), vec![field("total")]);
        assert_eq!(refs("phone.number"), vec![field("phone")]);
        assert_eq!(refs("$"), vec![Context]);
        assert_eq!(refs("$.total"), vec![Context]);
        assert_eq!(refs("a + b & a"), vec![field("a"), field("b")]);
        assert_eq!(
            refs("$count(items) > 1 ? x : y"),
            vec![field("items"), field("x"), field("y")]
        );
        assert_eq!(refs("{\"k\": v}"), vec![field("v")]);
        assert_eq!(refs("($n := 1; total)"), vec![field("total")]);
        assert_eq!(refs("orders{name: price}"), vec![field("orders")]);
    }

    #[test]
    fn double_dollar_is_refused_at_any_depth() {
        assert_eq!(refs("$$"), vec![Root]);
        assert_eq!(refs("$states.input.items[$$.x = 1]"), vec![Root]);
    }

    #[test]
    fn names_inside_a_nested_context_are_fine() {
        for ok in [
            "$states.input.total",
            "$states.input.items[status = 'OPEN'].amount",
            "$order[total > 10]",
            "$order[$.total > 10]",
            "$filter($items, function($i) { $i.value > 10 })",
            "$map($states.input.xs, function($v) { v.name })",
            "$states.input.orders.(price * qty)",
            "$states.input.xs^(name)",
            "$states.input.orders{name: price}",
            "$x := 5",
            "'text' & 1",
        ] {
            assert_eq!(refs(ok), vec![], "{ok}");
        }
    }
}
