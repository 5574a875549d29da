//! Distributed Maps' children as executions of their own (the engine's `map_children`), in
//! the table. A step may start or end a thousand of them, more than one transaction holds,
//! so they come through the step's outbox (`Effect::MapChildren`) once the step committed:
//! every write here is idempotent, and may run again or late.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a run's names | `MC#<run>` | `META` |
//! | a child: status, dates, input, item count | `MC#<run>` | `CH#<index>` |
//! | its end: output or failure | `MC#<run>` | `CH#<index>#o` |
//! | the runs whose children's names begin with `<hi>` | `MH#<hi>` | `<run ARN>` |
//! | an event of a STANDARD child's own history | `MC#<run>` | `EV#<index>#<id>` |
//!
//! A child's name is its run's seed with the index masked in (`NameParts`), so a child is
//! found from its ARN through the `MH#` item without an index of names. The head and the end
//! are apart so that each stays below DynamoDB's 400 KB with a 256 KiB payload; a query over
//! `CH#` reads them side by side.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use waymark_engine::history::HistoryEvent;
use waymark_engine::map_children::{ChildEvent, ChildExecution, NameParts};
use waymark_engine::ports::{Page, StoreError};
use waymark_engine::record::Status;

use super::requests::{QueryArgs, SkRange};
use super::{get_i64, get_n, get_s, key, keys, n, pack, s, DynamoStore, Item};
use crate::error::{sdk_message, AwsError};
use crate::metrics::write_units;

/// Child writes in flight at once.
const CONCURRENCY: usize = 16;
const END_SUFFIX: &str = "#o";

fn run_pk(run_arn: &str) -> String {
    format!("MC#{}", keys::resource_of(run_arn))
}

fn child_sk(index: usize) -> String {
    format!("CH#{index:010}")
}

/// One item per event: an event holds up to 256 KiB of payload, two would not fit an item.
fn event_sk(index: usize, id: u64) -> String {
    format!("{}{id:05}", events_prefix(index))
}

fn events_prefix(index: usize) -> String {
    format!("EV#{index:010}#")
}

fn names_pk(hi: u64) -> String {
    format!("MH#{hi:016x}")
}

/// What a run's `META` and `MH#` items hold: enough to name its children.
struct RunItem {
    run_arn: String,
    execution_prefix: String,
    state_machine_arn: String,
    parts: NameParts,
}

impl RunItem {
    fn of(c: &ChildExecution) -> Option<RunItem> {
        let (hi, lo) = NameParts::split(&c.name)?;
        Some(RunItem {
            run_arn: c.map_run_arn.clone(),
            execution_prefix: c.execution_arn.strip_suffix(c.name.as_str())?.to_string(),
            state_machine_arn: c.state_machine_arn.clone(),
            parts: NameParts {
                hi,
                mask: lo ^ c.index as u64,
            },
        })
    }

    fn attrs(&self, mut item: Item, expires: i64) -> Item {
        item.insert("r".into(), s(&self.run_arn));
        item.insert("p".into(), s(&self.execution_prefix));
        item.insert("sm".into(), s(&self.state_machine_arn));
        item.insert("hi".into(), n(self.parts.hi));
        item.insert("m".into(), n(self.parts.mask));
        item.insert("ttl".into(), n(expires));
        item
    }

    fn read(item: &Item) -> Option<RunItem> {
        Some(RunItem {
            run_arn: get_s(item, "r")?.to_string(),
            execution_prefix: get_s(item, "p")?.to_string(),
            state_machine_arn: get_s(item, "sm")?.to_string(),
            parts: NameParts {
                hi: get_n(item, "hi")?,
                mask: get_n(item, "m")?,
            },
        })
    }

    /// A child of this run from its head item and, once it ended, its end item.
    fn child(&self, head: &Item, end: Option<&Item>) -> Result<Option<ChildExecution>, AwsError> {
        let Some(index) = get_s(head, "SK")
            .and_then(|sk| sk.strip_prefix("CH#"))
            .and_then(|i| i.parse::<usize>().ok())
        else {
            return Ok(None);
        };
        let Some(status) = get_s(head, "st").and_then(|st| {
            serde_json::from_value::<Status>(serde_json::Value::String(st.into())).ok()
        }) else {
            return Ok(None);
        };
        let name = self.parts.name(index);
        Ok(Some(ChildExecution {
            map_run_arn: self.run_arn.clone(),
            index,
            execution_arn: format!("{}{name}", self.execution_prefix),
            state_machine_arn: self.state_machine_arn.clone(),
            name,
            status,
            start: at(get_i64(head, "t0").unwrap_or_default()),
            stop: get_i64(head, "t1").map(at),
            input: json(Some(head), "in")?,
            output: json(end, "out")?,
            failure: json(end, "fl")?,
            item_count: get_n(head, "n").unwrap_or(1) as usize,
        }))
    }
}

/// The JSON a child's attribute holds, if it is there.
fn json<T: serde::de::DeserializeOwned>(
    item: Option<&Item>,
    attr: &str,
) -> Result<Option<T>, AwsError> {
    let Some(item) = item else { return Ok(None) };
    match pack::text("map child", item, attr)? {
        Some(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| AwsError::malformed("map child", e.to_string())),
        None => Ok(None),
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn text_of<T: serde::Serialize>(v: &T) -> Result<String, AwsError> {
    serde_json::to_string(v).map_err(|e| AwsError::malformed("map child", e.to_string()))
}

impl DynamoStore {
    pub(super) async fn write_map_children(
        &self,
        children: &[ChildExecution],
    ) -> Result<(), AwsError> {
        let expires = self.item_expiry(Utc::now());
        // Each run's names first: a child is never listed without them.
        let mut runs: Vec<Item> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for c in children {
            if !seen.insert(c.map_run_arn.as_str()) {
                continue;
            }
            let run = RunItem::of(c).ok_or_else(|| {
                AwsError::malformed(
                    "map child",
                    format!("{} is not named as its run's children are", c.execution_arn),
                )
            })?;
            runs.push(run.attrs(key(run_pk(&run.run_arn), keys::META), expires));
            runs.push(run.attrs(key(names_pk(run.parts.hi), &run.run_arn), expires));
        }
        self.put_many(runs).await?;
        let mut ends = Vec::new();
        for c in children {
            if c.output.is_some() || c.failure.is_some() {
                let mut item = key(
                    run_pk(&c.map_run_arn),
                    format!("{}{END_SUFFIX}", child_sk(c.index)),
                );
                if let Some(o) = &c.output {
                    item.insert("out".into(), pack::attr(&text_of(o)?));
                }
                if let Some(f) = &c.failure {
                    item.insert("fl".into(), pack::attr(&text_of(f)?));
                }
                item.insert("ttl".into(), n(expires));
                ends.push(item);
            }
        }
        // The ends first: a head that says a child ended is never read without its end.
        self.put_many(ends).await?;
        let heads: Vec<_> = children
            .iter()
            .map(|c| self.write_head(c, expires))
            .collect();
        stream::iter(heads)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// A child's head, as one update: what a start writes only where nothing is yet (an end
    /// that came first keeps its status), what an end writes over the start.
    async fn write_head(&self, c: &ChildExecution, expires: i64) -> Result<(), AwsError> {
        let mut set = vec!["#n = if_not_exists(#n, :n)", "#ttl = :ttl"];
        let mut names: HashMap<String, String> = HashMap::from([
            ("#n".into(), "n".into()),
            ("#ttl".into(), "ttl".into()),
            ("#st".into(), "st".into()),
            ("#t0".into(), "t0".into()),
        ]);
        let mut values: HashMap<String, AttributeValue> = HashMap::from([
            (":n".into(), n(c.item_count)),
            (":ttl".into(), n(expires)),
            (":st".into(), s(c.status.as_str())),
            (":t0".into(), n(c.start.timestamp_millis())),
        ]);
        set.push("#t0 = if_not_exists(#t0, :t0)");
        let mut bytes = 100;
        if c.status == Status::Running {
            set.push("#st = if_not_exists(#st, :st)");
        } else {
            set.push("#st = :st");
            if let Some(stop) = c.stop {
                set.push("#t1 = :t1");
                names.insert("#t1".into(), "t1".into());
                values.insert(":t1".into(), n(stop.timestamp_millis()));
            }
        }
        if let Some(input) = &c.input {
            let packed = pack::attr(&text_of(input)?);
            bytes += match &packed {
                AttributeValue::B(b) => b.as_ref().len(),
                AttributeValue::S(t) => t.len(),
                _ => 0,
            };
            set.push("#in = if_not_exists(#in, :in)");
            names.insert("#in".into(), "in".into());
            values.insert(":in".into(), packed);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(run_pk(&c.map_run_arn), child_sk(c.index))))
            .update_expression(format!("SET {}", set.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        self.metrics.add_write_units(write_units(bytes));
        result
            .map(drop)
            .map_err(|e| AwsError::dynamodb("UpdateItem", sdk_message(&e)))
    }

    async fn run_item(&self, run_arn: &str) -> Result<Option<RunItem>, AwsError> {
        Ok(self
            .get(key(run_pk(run_arn), keys::META))
            .await?
            .as_ref()
            .and_then(RunItem::read))
    }

    /// Events of STANDARD children's own histories, after their run's names are written.
    pub(super) async fn write_child_events(&self, events: &[ChildEvent]) -> Result<(), AwsError> {
        let expires = self.item_expiry(Utc::now());
        let mut items = Vec::with_capacity(events.len());
        for e in events {
            let mut item = key(run_pk(&e.map_run_arn), event_sk(e.index, e.event.id));
            item.insert("ev".into(), pack::attr(&text_of(&e.event)?));
            item.insert("ttl".into(), n(expires));
            items.push(item);
        }
        self.put_many(items).await
    }

    /// A child's own history, in order (empty for a child that keeps none).
    pub(super) async fn read_child_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<HistoryEvent>, AwsError> {
        let Some((run, index)) = self.locate_child(execution_arn).await? else {
            return Ok(Vec::new());
        };
        let items = self
            .query(QueryArgs {
                pk: &run_pk(&run.run_arn),
                sk: SkRange::BeginsWith(&events_prefix(index)),
                forward: true,
                limit: None,
                consistent: true,
            })
            .await?;
        let mut events: Vec<HistoryEvent> = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(event) = json(Some(item), "ev")? {
                events.push(event);
            }
        }
        events.sort_by_key(|e| e.id);
        events.dedup_by_key(|e| e.id);
        Ok(events)
    }

    /// The run and index a child's ARN names, through the `MH#` item of its name.
    async fn locate_child(
        &self,
        execution_arn: &str,
    ) -> Result<Option<(RunItem, usize)>, AwsError> {
        let Some((prefix, name)) = execution_arn.rsplit_once(':') else {
            return Ok(None);
        };
        let Some((hi, lo)) = NameParts::split(name) else {
            return Ok(None);
        };
        let runs = self
            .query(QueryArgs {
                pk: &names_pk(hi),
                sk: SkRange::BeginsWith("arn:"),
                forward: true,
                limit: None,
                consistent: true,
            })
            .await?;
        for run in runs.iter().filter_map(RunItem::read) {
            if run.execution_prefix.strip_suffix(':') != Some(prefix) {
                continue;
            }
            let index = run.parts.index_of(lo);
            if run.parts.name(index) == name {
                return Ok(Some((run, index)));
            }
        }
        Ok(None)
    }

    pub(super) async fn read_map_child(
        &self,
        execution_arn: &str,
    ) -> Result<Option<ChildExecution>, AwsError> {
        let Some((run, index)) = self.locate_child(execution_arn).await? else {
            return Ok(None);
        };
        let items = self
            .query(QueryArgs {
                pk: &run_pk(&run.run_arn),
                sk: SkRange::BeginsWith(&child_sk(index)),
                forward: true,
                limit: None,
                consistent: true,
            })
            .await?;
        let head = items
            .iter()
            .find(|i| get_s(i, "SK") == Some(&child_sk(index)));
        let end = items
            .iter()
            .find(|i| get_s(i, "SK").is_some_and(|sk| sk.ends_with(END_SUFFIX)));
        match head {
            Some(head) => run.child(head, end),
            None => Ok(None),
        }
    }

    /// A page of a run's children in index order; `next_token` is the index to go on from.
    pub(super) async fn read_map_children(
        &self,
        map_run_arn: &str,
        status: Option<Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<ChildExecution>, StoreError> {
        let mut from: usize = match next_token {
            None => 0,
            Some(t) => t
                .parse()
                .map_err(|_| StoreError::InvalidPageToken(t.to_string()))?,
        };
        let Some(run) = self.run_item(map_run_arn).await? else {
            return Ok(Page {
                items: Vec::new(),
                next_token: None,
            });
        };
        let pk = run_pk(map_run_arn);
        let mut out = Vec::new();
        // Heads and ends side by side: twice the page, and one more head to know if there is
        // a next page.
        let batch = 2 * (max + 1);
        loop {
            let low = child_sk(from);
            let items = self
                .query(QueryArgs {
                    pk: &pk,
                    sk: SkRange::Between(&low, "CH#~"),
                    forward: true,
                    limit: Some(batch),
                    consistent: true,
                })
                .await?;
            let full = items.len() >= batch;
            let mut last = None;
            let mut i = 0;
            while i < items.len() {
                let head = &items[i];
                if get_s(head, "SK").is_some_and(|sk| sk.ends_with(END_SUFFIX)) {
                    i += 1;
                    continue;
                }
                let end = items
                    .get(i + 1)
                    .filter(|e| get_s(e, "SK").is_some_and(|sk| sk.ends_with(END_SUFFIX)));
                // A head whose end fell past this batch is read again with it next time.
                if end.is_none() && full && i + 1 == items.len() {
                    break;
                }
                i += if end.is_some() { 2 } else { 1 };
                let Some(child) = run.child(head, end)? else {
                    continue;
                };
                last = Some(child.index);
                if status.is_some_and(|s| s != child.status) {
                    continue;
                }
                if out.len() == max {
                    return Ok(Page {
                        items: out,
                        next_token: Some(child.index.to_string()),
                    });
                }
                out.push(child);
            }
            match last {
                Some(l) if full => from = l + 1,
                _ => {
                    return Ok(Page {
                        items: out,
                        next_token: None,
                    })
                }
            }
        }
    }
}
