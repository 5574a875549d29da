//! The cost model: requests counted over a run, turned into dollars per million state
//! transitions at AWS's public list prices (us-east-1, on-demand, without free tiers).
//! `cargo test -p waymark-aws --test e2e` writes what it counted to
//! `target/waymark-aws-costs.json`; `waymark-infra costs` prints the table from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// List prices in dollars, per unit.
#[derive(Debug, Clone, Copy)]
pub struct Prices {
    /// Per Lambda request.
    pub lambda_request: f64,
    /// Per GB-second of Lambda duration on arm64.
    pub lambda_gb_second: f64,
    /// Per DynamoDB on-demand write request unit.
    pub write_unit: f64,
    /// Per DynamoDB on-demand read request unit.
    pub read_unit: f64,
    /// Per SQS request (standard queue, each 64 KB counts as one).
    pub sqs_request: f64,
    /// Per SNS publish (deliveries to SQS cost nothing more).
    pub sns_publish: f64,
}

/// us-east-1 list prices (Lambda: $0.20 per million requests, $0.0000133334 per GB-s on
/// arm64; DynamoDB on-demand since November 2024: $0.625 per million write request units,
/// $0.125 per million read request units; SQS: $0.40 per million requests; SNS: $0.50 per
/// million publishes).
pub const LIST_PRICES: Prices = Prices {
    lambda_request: 0.20 / 1e6,
    lambda_gb_second: 0.000_013_333_4,
    write_unit: 0.625 / 1e6,
    read_unit: 0.125 / 1e6,
    sqs_request: 0.40 / 1e6,
    sns_publish: 0.50 / 1e6,
};

/// Step Functions Standard: $25 per million state transitions.
pub const STEP_FUNCTIONS_PER_MILLION: f64 = 25.0;

/// What a run counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Measured {
    /// State transitions, as Step Functions bills them (every state entered).
    pub transitions: u64,
    /// `"Service Operation"` → requests.
    pub requests: BTreeMap<String, u64>,
    pub write_units: f64,
    pub read_units: f64,
    pub lambda_invocations: u64,
    pub lambda_gb_seconds: f64,
}

impl Measured {
    /// The sum of several runs.
    pub fn add(&mut self, other: &Measured) {
        self.transitions += other.transitions;
        for (k, v) in &other.requests {
            *self.requests.entry(k.clone()).or_default() += v;
        }
        self.write_units += other.write_units;
        self.read_units += other.read_units;
        self.lambda_invocations += other.lambda_invocations;
        self.lambda_gb_seconds += other.lambda_gb_seconds;
    }
}

/// What the end-to-end suite writes: each test's counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Suite {
    pub scenarios: BTreeMap<String, Measured>,
}

impl Suite {
    /// All scenarios but `excluded`, summed.
    pub fn total(&self, excluded: &[String]) -> Measured {
        let mut m = Measured::default();
        for (name, s) in &self.scenarios {
            if !excluded.contains(name) {
                m.add(s);
            }
        }
        m
    }

    /// One line per scenario: transitions and dollars per million.
    pub fn summary(&self, p: &Prices) -> String {
        let mut s = String::from(
            "| scenario | transitions | $ per million transitions |\n|---|---:|---:|\n",
        );
        for (name, m) in &self.scenarios {
            s.push_str(&format!(
                "| {name} | {} | {:.2} |\n",
                m.transitions,
                total(m, p)
            ));
        }
        s
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Line {
    pub item: String,
    pub per_transition: f64,
    pub dollars_per_million: f64,
}

/// The cost of a million transitions, item by item.
pub fn lines(m: &Measured, p: &Prices) -> Vec<Line> {
    let t = m.transitions.max(1) as f64;
    let mut out = Vec::new();
    let mut push = |item: String, count: f64, unit: f64| {
        out.push(Line {
            item,
            per_transition: count / t,
            dollars_per_million: count / t * unit * 1e6,
        })
    };
    push(
        "Lambda requests".into(),
        m.lambda_invocations as f64,
        p.lambda_request,
    );
    push(
        "Lambda GB-seconds".into(),
        m.lambda_gb_seconds,
        p.lambda_gb_second,
    );
    push("DynamoDB write units".into(), m.write_units, p.write_unit);
    push("DynamoDB read units".into(), m.read_units, p.read_unit);
    for (op, n) in &m.requests {
        if let Some(name) = op.strip_prefix("SQS ") {
            push(format!("SQS {name}"), *n as f64, p.sqs_request);
        } else if let Some(name) = op.strip_prefix("SNS ") {
            push(format!("SNS {name}"), *n as f64, p.sns_publish);
        }
    }
    out
}

/// The table, as Markdown, with the DynamoDB requests by operation for reference.
pub fn table(m: &Measured, p: &Prices) -> String {
    let lines = lines(m, p);
    let total: f64 = lines.iter().map(|l| l.dollars_per_million).sum();
    let mut s = format!(
        "{} transitions measured\n\n| item | per transition | $ per million transitions |\n|---|---:|---:|\n",
        m.transitions
    );
    for l in &lines {
        s.push_str(&format!(
            "| {} | {:.3} | {:.3} |\n",
            l.item, l.per_transition, l.dollars_per_million
        ));
    }
    s.push_str(&format!(
        "| **total** | | **{total:.2}** ({:.0}% of Step Functions Standard's ${STEP_FUNCTIONS_PER_MILLION:.0}) |\n",
        total / STEP_FUNCTIONS_PER_MILLION * 100.0
    ));
    let t = m.transitions.max(1) as f64;
    s.push_str("\nRequests per transition by operation:\n\n| operation | requests | per transition |\n|---|---:|---:|\n");
    for (op, n) in &m.requests {
        s.push_str(&format!("| {op} | {n} | {:.3} |\n", *n as f64 / t));
    }
    s
}

/// Dollars per million transitions.
pub fn total(m: &Measured, p: &Prices) -> f64 {
    lines(m, p).iter().map(|l| l.dollars_per_million).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_transitions_at_one_request_each() {
        let m = Measured {
            transitions: 1_000_000,
            requests: [("SQS SendMessage".to_string(), 1_000_000)].into(),
            write_units: 2_000_000.0,
            ..Measured::default()
        };
        let t = total(&m, &LIST_PRICES);
        assert!((t - (0.40 + 1.25)).abs() < 1e-9, "{t}");
        assert!(table(&m, &LIST_PRICES).contains("SQS SendMessage"));
    }
}
