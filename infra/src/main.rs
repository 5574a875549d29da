//! `waymark-infra`: operator and test tools beside `template.yaml`.
//!
//! - `waymark-infra stack --endpoint URL [--template FILE] [--param K=V]…` creates the
//!   template's table, queues and topics on an AWS-compatible endpoint (moto, LocalStack) and
//!   prints the functions' environment as `export` lines;
//! - `waymark-infra costs [FILE]` prints the cost table from what the end-to-end tests counted
//!   (default `target/waymark-aws-costs.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use waymark_infra::costs::{table, Suite, LIST_PRICES};
use waymark_infra::stack::Stack;
use waymark_infra::template::Template;

const USAGE: &str = "usage: waymark-infra stack --endpoint URL [--template FILE] [--param KEY=VALUE]...\n       waymark-infra costs [FILE] [--exclude SCENARIO]...";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("stack") => stack(&args[1..]).await,
        Some("costs") => costs(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

async fn stack(args: &[String]) -> Result<(), String> {
    let mut endpoint = None;
    let mut template = PathBuf::from("template.yaml");
    let mut params = BTreeMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--endpoint" => endpoint = it.next().cloned(),
            "--template" => template = it.next().map(PathBuf::from).ok_or(USAGE)?,
            "--param" => {
                let kv = it.next().ok_or(USAGE)?;
                let (k, v) = kv.split_once('=').ok_or(USAGE)?;
                params.insert(k.to_string(), v.to_string());
            }
            _ => return Err(USAGE.to_string()),
        }
    }
    let endpoint = endpoint.ok_or(USAGE)?;
    let t = Template::load(&template).map_err(|e| e.to_string())?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .load()
        .await;
    let stack = Stack::create(&t, &sdk, "123456789012", &params)
        .await
        .map_err(|e| e.to_string())?;
    for (k, v) in stack.environment().map_err(|e| e.to_string())? {
        println!("export {k}='{v}'");
    }
    Ok(())
}

fn costs(args: &[String]) -> Result<(), String> {
    let mut path = PathBuf::from("target/waymark-aws-costs.json");
    let mut excluded = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exclude" => excluded.push(it.next().ok_or(USAGE)?.clone()),
            other => path = PathBuf::from(other),
        }
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run `cargo test -p waymark-aws --test e2e` first)",
            path.display()
        )
    })?;
    let suite: Suite = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    println!("## By scenario\n\n{}", suite.summary(&LIST_PRICES));
    println!(
        "## All scenarios\n\n{}",
        table(&suite.total(&[]), &LIST_PRICES)
    );
    if !excluded.is_empty() {
        println!(
            "## Without {}\n\n{}",
            excluded.join(", "),
            table(&suite.total(&excluded), &LIST_PRICES)
        );
    }
    Ok(())
}
