//! DynamoDB's item operations (`arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem`,
//! request-response only, as on AWS). Parameters and results are the API's, items in DynamoDB's
//! JSON form; a refused call fails with `DynamoDB.<Exception>`, such as
//! `DynamoDB.ConditionalCheckFailedException` for a condition that did not hold.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::types::{
    AttributeAction, AttributeValue, AttributeValueUpdate, Capacity, ComparisonOperator,
    ConditionalOperator, ConsumedCapacity, ExpectedAttributeValue, ItemCollectionMetrics,
    ReturnConsumedCapacity, ReturnItemCollectionMetrics, ReturnValue,
    ReturnValuesOnConditionCheckFailure,
};
use serde_json::{Map, Value};
use waymark_asl::Failure;

use crate::attribute_value::{from_attribute_map, to_attribute_map, to_attribute_value};
use crate::errors::DYNAMODB;
use crate::metadata::HttpCapture;
use crate::params::Params;

/// The item operations Step Functions integrates, by their action name in the Resource.
pub(crate) const ACTIONS: &[&str] = &["getItem", "putItem", "updateItem", "deleteItem"];

const GET_FIELDS: &[&str] = &[
    "TableName",
    "Key",
    "AttributesToGet",
    "ConsistentRead",
    "ExpressionAttributeNames",
    "ProjectionExpression",
    "ReturnConsumedCapacity",
];
const PUT_FIELDS: &[&str] = &[
    "TableName",
    "Item",
    "ConditionExpression",
    "ConditionalOperator",
    "Expected",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "ReturnValues",
    "ReturnValuesOnConditionCheckFailure",
];
const UPDATE_FIELDS: &[&str] = &[
    "TableName",
    "Key",
    "AttributeUpdates",
    "ConditionExpression",
    "ConditionalOperator",
    "Expected",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "ReturnValues",
    "ReturnValuesOnConditionCheckFailure",
    "UpdateExpression",
];
const DELETE_FIELDS: &[&str] = &[
    "TableName",
    "Key",
    "ConditionExpression",
    "ConditionalOperator",
    "Expected",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "ReturnValues",
    "ReturnValuesOnConditionCheckFailure",
];

/// Sends a built call with the metadata capture and the task's time limit, mapping errors.
macro_rules! send {
    ($call:expr, $timeout:expr) => {{
        let http = HttpCapture::default();
        let mut op = $call.customize().interceptor(http.clone());
        if let Some(t) = $timeout {
            op = op.config_override(
                aws_sdk_dynamodb::Config::builder()
                    .timeout_config(TimeoutConfig::builder().operation_timeout(t).build()),
            );
        }
        let out = op
            .send()
            .await
            .map_err(|e| DYNAMODB.sdk_failure(&e, &http))?;
        (out, http)
    }};
}

/// Runs `action` (one of [`ACTIONS`]).
pub(crate) async fn call(
    client: &aws_sdk_dynamodb::Client,
    action: &str,
    parameters: &Value,
    timeout: Option<Duration>,
) -> Result<Value, Failure> {
    match action {
        "getItem" => {
            let p = Params::new(parameters, GET_FIELDS)?;
            p.required("Key")?;
            let call = client
                .get_item()
                .table_name(p.required_str("TableName")?)
                .set_key(attribute_map(&p, "Key")?)
                .set_attributes_to_get(p.strings("AttributesToGet")?)
                .set_consistent_read(p.bool("ConsistentRead")?)
                .set_expression_attribute_names(names(&p)?)
                .set_projection_expression(p.str("ProjectionExpression")?.map(str::to_string))
                .set_return_consumed_capacity(
                    p.str("ReturnConsumedCapacity")?
                        .map(ReturnConsumedCapacity::from),
                );
            let (out, http) = send!(call, timeout);
            Ok(result(
                ("Item", out.item()),
                out.consumed_capacity(),
                None,
                &http,
                out.request_id(),
            ))
        }
        "putItem" => {
            let p = Params::new(parameters, PUT_FIELDS)?;
            let w = Write::read(&p)?;
            p.required("Item")?;
            let call = client
                .put_item()
                .table_name(p.required_str("TableName")?)
                .set_item(attribute_map(&p, "Item")?)
                .set_condition_expression(w.condition_expression)
                .set_conditional_operator(w.conditional_operator)
                .set_expected(w.expected)
                .set_expression_attribute_names(w.names)
                .set_expression_attribute_values(w.values)
                .set_return_consumed_capacity(w.return_consumed_capacity)
                .set_return_item_collection_metrics(w.return_item_collection_metrics)
                .set_return_values(w.return_values)
                .set_return_values_on_condition_check_failure(w.return_on_failure);
            let (out, http) = send!(call, timeout);
            Ok(result(
                ("Attributes", out.attributes()),
                out.consumed_capacity(),
                out.item_collection_metrics(),
                &http,
                out.request_id(),
            ))
        }
        "updateItem" => {
            let p = Params::new(parameters, UPDATE_FIELDS)?;
            let w = Write::read(&p)?;
            p.required("Key")?;
            let call = client
                .update_item()
                .table_name(p.required_str("TableName")?)
                .set_key(attribute_map(&p, "Key")?)
                .set_update_expression(p.str("UpdateExpression")?.map(str::to_string))
                .set_attribute_updates(attribute_updates(&p)?)
                .set_condition_expression(w.condition_expression)
                .set_conditional_operator(w.conditional_operator)
                .set_expected(w.expected)
                .set_expression_attribute_names(w.names)
                .set_expression_attribute_values(w.values)
                .set_return_consumed_capacity(w.return_consumed_capacity)
                .set_return_item_collection_metrics(w.return_item_collection_metrics)
                .set_return_values(w.return_values)
                .set_return_values_on_condition_check_failure(w.return_on_failure);
            let (out, http) = send!(call, timeout);
            Ok(result(
                ("Attributes", out.attributes()),
                out.consumed_capacity(),
                out.item_collection_metrics(),
                &http,
                out.request_id(),
            ))
        }
        "deleteItem" => {
            let p = Params::new(parameters, DELETE_FIELDS)?;
            let w = Write::read(&p)?;
            p.required("Key")?;
            let call = client
                .delete_item()
                .table_name(p.required_str("TableName")?)
                .set_key(attribute_map(&p, "Key")?)
                .set_condition_expression(w.condition_expression)
                .set_conditional_operator(w.conditional_operator)
                .set_expected(w.expected)
                .set_expression_attribute_names(w.names)
                .set_expression_attribute_values(w.values)
                .set_return_consumed_capacity(w.return_consumed_capacity)
                .set_return_item_collection_metrics(w.return_item_collection_metrics)
                .set_return_values(w.return_values)
                .set_return_values_on_condition_check_failure(w.return_on_failure);
            let (out, http) = send!(call, timeout);
            Ok(result(
                ("Attributes", out.attributes()),
                out.consumed_capacity(),
                out.item_collection_metrics(),
                &http,
                out.request_id(),
            ))
        }
        other => Err(Failure::runtime(format!(
            "'dynamodb:{other}' is not a DynamoDB integration; they are {}",
            ACTIONS.join(", ")
        ))),
    }
}

/// The fields the three writes share.
struct Write {
    condition_expression: Option<String>,
    conditional_operator: Option<ConditionalOperator>,
    expected: Option<HashMap<String, ExpectedAttributeValue>>,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
    return_consumed_capacity: Option<ReturnConsumedCapacity>,
    return_item_collection_metrics: Option<ReturnItemCollectionMetrics>,
    return_values: Option<ReturnValue>,
    return_on_failure: Option<ReturnValuesOnConditionCheckFailure>,
}

impl Write {
    fn read(p: &Params<'_>) -> Result<Write, Failure> {
        Ok(Write {
            condition_expression: p.str("ConditionExpression")?.map(str::to_string),
            conditional_operator: p.str("ConditionalOperator")?.map(ConditionalOperator::from),
            expected: expected(p)?,
            names: names(p)?,
            values: attribute_map(p, "ExpressionAttributeValues")?,
            return_consumed_capacity: p
                .str("ReturnConsumedCapacity")?
                .map(ReturnConsumedCapacity::from),
            return_item_collection_metrics: p
                .str("ReturnItemCollectionMetrics")?
                .map(ReturnItemCollectionMetrics::from),
            return_values: p.str("ReturnValues")?.map(ReturnValue::from),
            return_on_failure: p
                .str("ReturnValuesOnConditionCheckFailure")?
                .map(ReturnValuesOnConditionCheckFailure::from),
        })
    }
}

fn attribute_map(
    p: &Params<'_>,
    field: &str,
) -> Result<Option<HashMap<String, AttributeValue>>, Failure> {
    p.get(field)
        .map(|v| to_attribute_map(v, field).map_err(|e| p.invalid(e)))
        .transpose()
}

fn names(p: &Params<'_>) -> Result<Option<HashMap<String, String>>, Failure> {
    let Some(obj) = p.object("ExpressionAttributeNames")? else {
        return Ok(None);
    };
    obj.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(p.wrong_type(&format!("ExpressionAttributeNames.{k}"), "STRING")),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The legacy `Expected`: `{attr: {Value, Exists, ComparisonOperator, AttributeValueList}}`.
fn expected(p: &Params<'_>) -> Result<Option<HashMap<String, ExpectedAttributeValue>>, Failure> {
    let Some(obj) = p.object("Expected")? else {
        return Ok(None);
    };
    let mut out = HashMap::new();
    for (name, v) in obj {
        let path = format!("Expected.{name}");
        let e = v.as_object().ok_or_else(|| p.wrong_type(&path, "OBJECT"))?;
        let value = e
            .get("Value")
            .map(|v| to_attribute_value(v, &format!("{path}.Value")))
            .transpose()
            .map_err(|m| p.invalid(m))?;
        let list = match e.get("AttributeValueList") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| to_attribute_value(v, &format!("{path}.AttributeValueList[{i}]")))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|m| p.invalid(m))?,
            ),
            Some(_) => return Err(p.wrong_type(&format!("{path}.AttributeValueList"), "ARRAY")),
        };
        let exists = match e.get("Exists") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(p.wrong_type(&format!("{path}.Exists"), "BOOLEAN")),
        };
        let operator = match e.get("ComparisonOperator") {
            None => None,
            Some(Value::String(s)) => Some(ComparisonOperator::from(s.as_str())),
            Some(_) => return Err(p.wrong_type(&format!("{path}.ComparisonOperator"), "STRING")),
        };
        out.insert(
            name.clone(),
            ExpectedAttributeValue::builder()
                .set_value(value)
                .set_exists(exists)
                .set_comparison_operator(operator)
                .set_attribute_value_list(list)
                .build(),
        );
    }
    Ok(Some(out))
}

/// The legacy `AttributeUpdates`: `{attr: {Value, Action}}`.
fn attribute_updates(
    p: &Params<'_>,
) -> Result<Option<HashMap<String, AttributeValueUpdate>>, Failure> {
    let Some(obj) = p.object("AttributeUpdates")? else {
        return Ok(None);
    };
    let mut out = HashMap::new();
    for (name, v) in obj {
        let path = format!("AttributeUpdates.{name}");
        let u = v.as_object().ok_or_else(|| p.wrong_type(&path, "OBJECT"))?;
        let value = u
            .get("Value")
            .map(|v| to_attribute_value(v, &format!("{path}.Value")))
            .transpose()
            .map_err(|m| p.invalid(m))?;
        let action = match u.get("Action") {
            None => None,
            Some(Value::String(s)) => Some(AttributeAction::from(s.as_str())),
            Some(_) => return Err(p.wrong_type(&format!("{path}.Action"), "STRING")),
        };
        out.insert(
            name.clone(),
            AttributeValueUpdate::builder()
                .set_value(value)
                .set_action(action)
                .build(),
        );
    }
    Ok(Some(out))
}

/// The response object, its fields in AWS's (alphabetical) order.
fn result(
    (item_field, item): (&str, Option<&HashMap<String, AttributeValue>>),
    consumed: Option<&ConsumedCapacity>,
    metrics: Option<&ItemCollectionMetrics>,
    http: &HttpCapture,
    request_id: Option<&str>,
) -> Value {
    let mut fields: Vec<(String, Value)> = Vec::new();
    if let Some(item) = item {
        fields.push((item_field.to_string(), from_attribute_map(item)));
    }
    if let Some(c) = consumed {
        fields.push(("ConsumedCapacity".into(), consumed_capacity(c)));
    }
    if let Some(m) = metrics {
        let mut o = Map::new();
        if let Some(k) = m.item_collection_key() {
            o.insert("ItemCollectionKey".into(), from_attribute_map(k));
        }
        o.insert(
            "SizeEstimateRangeGB".into(),
            Value::Array(
                m.size_estimate_range_gb()
                    .iter()
                    .map(|g| Value::from(*g))
                    .collect(),
            ),
        );
        fields.push(("ItemCollectionMetrics".into(), Value::Object(o)));
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Map<String, Value> = fields.into_iter().collect();
    http.add_metadata(&mut out, request_id);
    Value::Object(out)
}

fn consumed_capacity(c: &ConsumedCapacity) -> Value {
    let mut o = Map::new();
    let units = |o: &mut Map<String, Value>, name: &str, v: Option<f64>| {
        if let Some(v) = v {
            o.insert(name.to_string(), Value::from(v));
        }
    };
    units(&mut o, "CapacityUnits", c.capacity_units());
    let capacity = |cap: &Capacity| {
        let mut m = Map::new();
        for (name, v) in [
            ("CapacityUnits", cap.capacity_units()),
            ("ReadCapacityUnits", cap.read_capacity_units()),
            ("WriteCapacityUnits", cap.write_capacity_units()),
        ] {
            if let Some(v) = v {
                m.insert(name.to_string(), Value::from(v));
            }
        }
        Value::Object(m)
    };
    let indexes = |m: &HashMap<String, Capacity>| {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        Value::Object(
            keys.into_iter()
                .filter_map(|k| m.get(k).map(|c| (k.clone(), capacity(c))))
                .collect(),
        )
    };
    if let Some(g) = c.global_secondary_indexes() {
        o.insert("GlobalSecondaryIndexes".into(), indexes(g));
    }
    if let Some(l) = c.local_secondary_indexes() {
        o.insert("LocalSecondaryIndexes".into(), indexes(l));
    }
    units(&mut o, "ReadCapacityUnits", c.read_capacity_units());
    if let Some(t) = c.table() {
        o.insert("Table".into(), capacity(t));
    }
    if let Some(name) = c.table_name() {
        o.insert("TableName".into(), Value::String(name.to_string()));
    }
    units(&mut o, "WriteCapacityUnits", c.write_capacity_units());
    Value::Object(o)
}
