//! Reading definitions and inputs from files and arguments.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

pub fn read_definition(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the definition {}", path.display()))
}

/// `--input`: JSON text, or `@FILE`.
pub fn read_input(arg: &str) -> Result<Value> {
    let (text, from) = match arg.strip_prefix('@') {
        Some(file) => (
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the input file {file}"))?,
            format!("the input file {file}"),
        ),
        None => (arg.to_string(), "--input".to_string()),
    };
    match serde_json::from_str(&text) {
        Ok(v) => Ok(v),
        Err(e) => bail!("{from} is not valid JSON: {e}"),
    }
}
