//! The typed model of a state machine, as the parser produces it and the engine runs it. Every
//! field AWS accepts has a place here; defaults are applied by the parser so that the engine
//! never has to remember them.

mod choice;
mod retry;

pub use choice::{ChoiceBranch, ChoiceRule, Comparison, Operand, OperandKind, TypeTest};
pub use retry::{error_matches, is_terminal, Catcher, Jitter, Retrier};

use indexmap::IndexMap;
use serde_json::Value;

use crate::jsonata::JsonataTemplate;
use crate::path::Path;
use crate::template::Template;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

impl QueryLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }
}

/// A whole state machine definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub comment: Option<String>,
    pub version: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub query_language: QueryLanguage,
    pub graph: Graph,
}

/// `StartAt` and `States`: the top level, a Parallel branch, or a Map's item processor.
#[derive(Debug, Clone)]
pub struct Graph {
    pub start_at: String,
    pub states: IndexMap<String, State>,
}

impl Graph {
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }
}

/// Where a state goes when it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
}

/// A JSONPath field that may be `null` to mean "nothing" (InputPath, OutputPath, ResultPath).
#[derive(Debug, Clone, PartialEq)]
pub enum NullablePath {
    Path(Path),
    Null,
}

/// A number given literally, read from the input by a path, or computed by a JSONata
/// expression (TimeoutSeconds[Path], MaxConcurrency[Path], ToleratedFailureCount[Path] …).
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic<T> {
    Literal(T),
    Path(Path),
    /// A JSONata expression, evaluated when the state runs.
    Jsonata(JsonataTemplate),
}

/// A string given literally or produced at run time (Fail's Error/Cause).
#[derive(Debug, Clone, PartialEq)]
pub enum DynamicText {
    Literal(String),
    /// A path or an intrinsic function (`ErrorPath`, `CausePath`).
    Path(Template),
    Jsonata(JsonataTemplate),
}

/// `Assign`: variables set when a state (or a Choice rule, or a catcher) completes. In JSONPath
/// states it is a payload template whose `$` is the state's result; in JSONata states a value
/// with expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum Assign {
    JsonPath(Template),
    Jsonata(JsonataTemplate),
}

/// The fields that move data in and out of a state. Which are present depends on the state
/// type and the query language; the parser has already rejected the rest.
#[derive(Debug, Clone, Default)]
pub struct Io {
    /// `None`: `$` (the whole input).
    pub input_path: Option<NullablePath>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    /// `None`: `$` (the result replaces the input).
    pub result_path: Option<NullablePath>,
    /// `None`: `$` (the whole output).
    pub output_path: Option<NullablePath>,
    /// JSONata `Arguments`: a JSON value with `{% %}` expressions inside.
    pub arguments: Option<JsonataTemplate>,
    /// JSONata `Output`.
    pub output: Option<JsonataTemplate>,
    /// `Assign`: variables set when the state completes (both query languages).
    pub assign: Option<Assign>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    pub query_language: QueryLanguage,
    pub kind: StateKind,
    pub io: Io,
    /// `None` for Choice, Succeed and Fail, which have no Next/End.
    pub transition: Option<Transition>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// Some field may read the context object; when none does, the engine need not build it.
    pub uses_context: bool,
    /// Some field may read the execution's input through the context object
    /// (`$$.Execution.Input`, or the whole of `$$` or `$$.Execution`): the engine copies it
    /// into the context object only then.
    pub uses_execution_input: bool,
    /// Every context reference is a JSONPath under `$$.Map` (an ItemSelector's
    /// `$$.Map.Item.Value`, say): the engine builds only that part of the context object,
    /// once per item, instead of all of it.
    pub uses_only_map_context: bool,
}

impl State {
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }
}

#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(Pass),
    Task(Task),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(Box<Map>),
}

impl StateKind {
    /// The `Type` field, also the prefix of the state's history events (`PassStateEntered`).
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Pass {
    pub result: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: String,
    pub timeout_seconds: Option<Dynamic<u64>>,
    pub heartbeat_seconds: Option<Dynamic<u64>>,
    pub credentials: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub choices: Vec<ChoiceBranch>,
    pub default: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Wait {
    Seconds(Dynamic<u64>),
    Timestamp(Dynamic<Timestamp>),
}

#[derive(Debug, Clone, Default)]
pub struct Fail {
    pub error: Option<DynamicText>,
    pub cause: Option<DynamicText>,
}

#[derive(Debug, Clone)]
pub struct Parallel {
    pub branches: Vec<Graph>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorMode {
    Inline,
    Distributed,
}

#[derive(Debug, Clone)]
pub struct Map {
    pub processor: Graph,
    /// Written with the deprecated `Iterator` rather than `ItemProcessor`.
    pub legacy_iterator: bool,
    pub mode: ProcessorMode,
    /// `STANDARD` or `EXPRESS` child executions in distributed mode.
    pub execution_type: Option<String>,
    /// JSONPath: where the items are (`None`: `$`).
    pub items_path: Option<Path>,
    /// JSONata `Items`: an array or an expression yielding one.
    pub items: Option<JsonataTemplate>,
    /// `ItemSelector`, or the deprecated `Parameters` of Map, which means the same thing.
    pub item_selector: Option<Template>,
    /// JSONata `ItemSelector`.
    pub item_selector_jsonata: Option<JsonataTemplate>,
    pub max_concurrency: Dynamic<u64>,
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    pub tolerated_failure_count: Option<Dynamic<u64>>,
    /// A distributed Map's `ItemReader`: the items come from Amazon S3 instead of the input.
    pub item_reader: Option<Box<ItemReader>>,
    /// Boxed: a Map is held by value through every level of a nested definition's parse.
    pub item_batcher: Option<Box<ItemBatcher>>,
    /// A distributed Map's `ResultWriter`: the children's results are shaped by
    /// `WriterConfig` and, with a `Resource`, exported to Amazon S3.
    pub result_writer: Option<Box<ResultWriter>>,
    pub label: Option<String>,
}

/// A distributed Map's `ItemBatcher`: the selected items go to child executions in groups,
/// each as `{"BatchInput": …, "Items": [...]}`.
#[derive(Debug, Clone)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch` (or its `Path`), at least 1.
    pub max_items: Option<Dynamic<u64>>,
    /// `MaxInputBytesPerBatch` (or its `Path`): 1 to 256 KiB.
    pub max_bytes: Option<Dynamic<u64>>,
    /// JSONPath `BatchInput`: a payload template over the Map's effective input.
    pub batch_input: Option<Template>,
    /// JSONata `BatchInput`.
    pub batch_input_jsonata: Option<JsonataTemplate>,
}

/// A distributed Map's `ItemReader`. The reader's configuration travels to the integration
/// that reads as it is written (`ReaderConfig` without `MaxItems`/`MaxItemsPath`, which the
/// engine resolves): validation has checked every field the readers look at.
#[derive(Debug, Clone)]
pub struct ItemReader {
    /// `arn:aws:states:::s3:getObject` or `arn:aws:states:::s3:listObjectsV2`, as written.
    pub resource: String,
    /// JSONPath `Parameters`.
    pub parameters: Option<Template>,
    /// JSONata `Arguments`.
    pub arguments: Option<JsonataTemplate>,
    /// `ReaderConfig` without `MaxItems`/`MaxItemsPath` (an empty object when absent).
    pub config: Value,
    /// `MaxItems` or `MaxItemsPath`: at most this many items are read.
    pub max_items: Option<Dynamic<u64>>,
}

/// A distributed Map's `ResultWriter` (developer guide, "ResultWriter (Map)"): one of
/// `WriterConfig` alone (the state's output is the shaped results), `Resource` with
/// `Parameters`/`Arguments` (export to S3, records unchanged), or all three.
#[derive(Debug, Clone)]
pub struct ResultWriter {
    /// `arn:aws:states:::s3:putObject`, as written; `None` for `WriterConfig` alone.
    pub resource: Option<String>,
    /// JSONPath `Parameters` (`Bucket`, `Prefix`).
    pub parameters: Option<Template>,
    /// JSONata `Arguments` (`Bucket`, `Prefix`).
    pub arguments: Option<JsonataTemplate>,
    pub transformation: Transformation,
    /// JSON Lines rather than a JSON array in the exported files.
    pub json_lines: bool,
}

/// `WriterConfig.Transformation`: what each child's record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    /// The child execution's whole record (ARN, input, output, status, dates).
    None,
    /// The child's output alone.
    Compact,
    /// The child's output, an array's elements spliced into the results.
    Flatten,
}

/// The largest batch AWS passes to one child execution: its payload limit.
pub const MAX_BATCH_BYTES: u64 = 256 * 1024;

/// Walks nested graphs: a Parallel branch or a Map processor inside `graph`.
pub fn child_graph<'a>(graph: &'a Graph, state: &str, branch: usize) -> Option<&'a Graph> {
    match &graph.state(state)?.kind {
        StateKind::Parallel(p) => p.branches.get(branch),
        StateKind::Map(m) if branch == 0 => Some(&m.processor),
        _ => None,
    }
}
