//! A distributed Map's `ItemBatcher`: the selected items grouped into the batches that child
//! executions receive, `{"BatchInput": …, "Items": [...]}`, by count and by size.

use serde_json::{Map, Value};
use waymark_asl::error::names;
use waymark_asl::json::{as_integer, payload_size, to_text};
use waymark_asl::jsonata::Prepared;
use waymark_asl::model::{
    Dynamic, ItemBatcher, Map as MapState, QueryLanguage, State, MAX_BATCH_BYTES,
};
use waymark_asl::Failure;

use super::Stepper;

impl Stepper<'_, '_> {
    /// The batches of a Map with an ItemBatcher: ItemSelector applied to every item first (with
    /// its own `$$.Map.Item`), then grouped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn batch_items(
        &self,
        fid: &str,
        state: &State,
        m: &MapState,
        b: &ItemBatcher,
        effective: &Value,
        ctx: &Value,
        states: &Value,
        items: Vec<Value>,
        base: usize,
        hold_last: bool,
    ) -> Result<(Vec<Value>, Vec<Value>), Failure> {
        let jsonata = state.query_language == QueryLanguage::Jsonata;
        let max_items = match &b.max_items {
            None => None,
            Some(d) => Some(self.batch_limit(
                fid,
                d,
                effective,
                ctx,
                states,
                jsonata,
                "MaxItemsPerBatch",
            )?),
        };
        let max_bytes = match &b.max_bytes {
            None => None,
            Some(d) => {
                let n = self.batch_limit(
                    fid,
                    d,
                    effective,
                    ctx,
                    states,
                    jsonata,
                    "MaxInputBytesPerBatch",
                )?;
                if n > MAX_BATCH_BYTES {
                    return Err(Failure::runtime(format!(
                        "MaxInputBytesPerBatch must be at most {MAX_BATCH_BYTES}, but was {n}"
                    )));
                }
                Some(n)
            }
        };
        let batch_input = match (&b.batch_input, &b.batch_input_jsonata) {
            (Some(t), _) => Some(self.eval(fid, effective, ctx, |env| t.eval(env))?),
            (None, Some(t)) => {
                Some(self.eval_jsonata(fid, states, |env| t.eval(env, "BatchInput"))?)
            }
            (None, None) => None,
        };
        let prepared = m
            .item_selector_jsonata
            .as_ref()
            .map(|_| Prepared::new(effective));
        let mut selected = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            selected.push(self.select_item(
                fid,
                state,
                base + index,
                item.clone(),
                effective,
                prepared.as_ref(),
            )?);
        }
        let mut batches = group(selected, batch_input, max_items, max_bytes)?;
        // More items are still to be read: the last batch may grow with them, so its items
        // wait for the next window, unbatched.
        let mut held = Vec::new();
        if hold_last {
            if let Some(last) = batches.pop() {
                let n = last["Items"].as_array().map_or(0, Vec::len);
                held = items[items.len() - n..].to_vec();
            }
        }
        Ok((batches, held))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn batch_limit(
        &self,
        fid: &str,
        d: &Dynamic<u64>,
        effective: &Value,
        ctx: &Value,
        states: &Value,
        jsonata: bool,
        field: &str,
    ) -> Result<u64, Failure> {
        let n = match d {
            Dynamic::Literal(n) => *n,
            Dynamic::Jsonata(t) => {
                let v = self.eval_jsonata(fid, states, |env| t.eval_as(env, field, "integer"))?;
                match as_integer(&v) {
                    Some(n) if n > 0 => n as u64,
                    _ => {
                        return Err(Failure::new(
                            names::QUERY_EVALUATION_ERROR,
                            format!(
                                "The {field} field must be a positive integer, but was: {}",
                                to_text(&v)
                            ),
                        ))
                    }
                }
            }
            Dynamic::Path(p) if !jsonata => {
                let v = self.eval(fid, effective, ctx, |env| {
                    waymark_asl::dataflow::select_or_invalid(p, env)
                })?;
                match as_integer(&v) {
                    Some(n) if n > 0 => n as u64,
                    _ => {
                        return Err(Failure::runtime(format!(
                            "The {field}Path field refers to value \"{}\" which is not a positive integer: {}",
                            to_text(&v),
                            p.source()
                        )))
                    }
                }
            }
            Dynamic::Path(_) => {
                return Err(Failure::runtime(
                    "JSONPath fields are not supported in a JSONata state",
                ))
            }
        };
        Ok(n)
    }
}

/// Groups items in order: a batch closes when it holds `max_items`, or when the next item
/// would take its JSON text over `max_bytes`. An item too large for a batch of its own fails
/// the Map.
pub(crate) fn group(
    items: Vec<Value>,
    batch_input: Option<Value>,
    max_items: Option<u64>,
    max_bytes: Option<u64>,
) -> Result<Vec<Value>, Failure> {
    let max_items = max_items.unwrap_or(u64::MAX) as usize;
    let max_bytes = max_bytes.unwrap_or(MAX_BATCH_BYTES) as usize;
    let make = |items: Vec<Value>| {
        let mut o = Map::new();
        if let Some(b) = &batch_input {
            o.insert("BatchInput".into(), b.clone());
        }
        o.insert("Items".into(), Value::Array(items));
        Value::Object(o)
    };
    // The size of a batch with no items; each item adds its own size and a comma.
    let empty = payload_size(&make(Vec::new()));
    let mut batches = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut size = empty;
    for (index, item) in items.into_iter().enumerate() {
        let item_size = payload_size(&item);
        if empty + item_size > max_bytes {
            return Err(Failure::runtime(format!(
                "The item at index {index} is {item_size} bytes: with the batch around it, more than the MaxInputBytesPerBatch of {max_bytes} bytes"
            )));
        }
        let adding = item_size + usize::from(!current.is_empty());
        if !current.is_empty() && (current.len() >= max_items || size + adding > max_bytes) {
            batches.push(make(std::mem::take(&mut current)));
            size = empty;
            current.push(item);
            size += item_size;
            continue;
        }
        current.push(item);
        size += adding;
    }
    if !current.is_empty() {
        batches.push(make(current));
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::group;
    use serde_json::json;
    use waymark_asl::json::payload_size;

    fn items(n: i64) -> Vec<serde_json::Value> {
        (1..=n).map(|i| json!(i)).collect()
    }

    #[test]
    fn items_are_grouped_by_count_in_order() {
        let out = group(items(3), None, Some(2), None).unwrap();
        assert_eq!(out, [json!({"Items": [1, 2]}), json!({"Items": [3]})]);
        let out = group(items(4), Some(json!({"by": "x"})), Some(4), None).unwrap();
        assert_eq!(
            out,
            [json!({"BatchInput": {"by": "x"}, "Items": [1, 2, 3, 4]})]
        );
        assert!(group(Vec::new(), None, Some(2), None).unwrap().is_empty());
    }

    #[test]
    fn a_batch_never_passes_its_byte_limit() {
        let words: Vec<_> = (0..50).map(|i| json!(format!("word-{i:03}"))).collect();
        for limit in [43u64, 64, 100, 257, 1000] {
            let out = group(words.clone(), Some(json!({"k": 1})), None, Some(limit)).unwrap();
            let mut seen = Vec::new();
            for b in &out {
                assert!(payload_size(b) as u64 <= limit, "{b} over {limit}");
                seen.extend(b["Items"].as_array().unwrap().iter().cloned());
            }
            assert_eq!(seen, words, "every item once, in order");
        }
        // Exactly at the limit fits: {"Items":[1,2]} is 15 bytes.
        let out = group(items(3), None, None, Some(15)).unwrap();
        assert_eq!(out, [json!({"Items": [1, 2]}), json!({"Items": [3]})]);
        // Both limits: whichever closes the batch first.
        let out = group(items(5), None, Some(2), Some(15)).unwrap();
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn an_item_larger_than_a_batch_fails_the_map() {
        let err = group(vec![json!("x".repeat(100))], None, None, Some(50)).unwrap_err();
        assert_eq!(err.error.as_deref(), Some("States.Runtime"));
        assert!(err.cause.unwrap().contains("index 0"));
    }
}
