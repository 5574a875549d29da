//! Which fields each state type accepts, per query language.

use crate::model::QueryLanguage;

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

pub fn allowed(type_name: &str, ql: QueryLanguage) -> Vec<&'static str> {
    let specific: &[&str] = match (type_name, ql) {
        ("Pass", QueryLanguage::JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
        ],
        ("Pass", QueryLanguage::Jsonata) => &["Next", "End", "Output", "Assign"],
        ("Task", QueryLanguage::JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
        ],
        ("Task", QueryLanguage::Jsonata) => &[
            "Next",
            "End",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
        ],
        ("Choice", QueryLanguage::JsonPath) => {
            &["InputPath", "OutputPath", "Choices", "Default", "Assign"]
        }
        ("Choice", QueryLanguage::Jsonata) => &["Choices", "Default", "Output", "Assign"],
        ("Wait", QueryLanguage::JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
        ],
        ("Wait", QueryLanguage::Jsonata) => {
            &["Next", "End", "Seconds", "Timestamp", "Output", "Assign"]
        }
        ("Succeed", QueryLanguage::JsonPath) => &["InputPath", "OutputPath"],
        ("Succeed", QueryLanguage::Jsonata) => &["Output"],
        ("Fail", QueryLanguage::JsonPath) => &["Error", "ErrorPath", "Cause", "CausePath"],
        ("Fail", QueryLanguage::Jsonata) => &["Error", "Cause"],
        ("Parallel", QueryLanguage::JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        ("Parallel", QueryLanguage::Jsonata) => &[
            "Next",
            "End",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Branches",
        ],
        ("Map", QueryLanguage::JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ItemSelector",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemsPath",
            "Iterator",
            "ItemProcessor",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
            "Assign",
        ],
        ("Map", QueryLanguage::Jsonata) => &[
            "Next",
            "End",
            "Items",
            "ItemSelector",
            "ItemProcessor",
            "Iterator",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "MaxConcurrency",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "Label",
        ],
        _ => &[],
    };
    COMMON.iter().chain(specific).copied().collect()
}

pub const TOP_LEVEL: &[&str] = &[
    "Comment",
    "StartAt",
    "States",
    "TimeoutSeconds",
    "Version",
    "QueryLanguage",
];
pub const GRAPH: &[&str] = &["Comment", "StartAt", "States"];
pub const PROCESSOR: &[&str] = &["Comment", "StartAt", "States", "ProcessorConfig"];
pub const RETRIER: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];

pub fn catcher(ql: QueryLanguage) -> &'static [&'static str] {
    match ql {
        QueryLanguage::JsonPath => &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"],
        QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Assign", "Comment"],
    }
}

/// Fields that only JSONPath states have: their presence in a JSONata state gets a message
/// that says so.
pub const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
    "Result",
];

pub const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];
