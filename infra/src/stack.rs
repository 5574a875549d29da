//! A test (or local) stack made from `template.yaml`: the DynamoDB table, SQS queues and SNS
//! topics created with the template's own properties on an AWS-compatible endpoint, and the
//! environment the template gives the functions. Nothing here repeats a definition: a change
//! to the template is what the tests run against.

use std::collections::{BTreeMap, HashMap};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::template::{Created, Resolver, Template};
use crate::InfraError;

/// The resource types a stack creates; the rest (functions, the API, alarms) need AWS itself.
pub const CREATED_TYPES: &[&str] = &["AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic"];

pub struct Stack {
    pub created: BTreeMap<String, Created>,
    pub parameters: BTreeMap<String, String>,
    pub region: String,
    pub account: String,
    template: Template,
}

fn aws(service: &'static str, operation: &'static str, e: impl std::fmt::Debug) -> InfraError {
    InfraError::Aws {
        service,
        operation,
        message: format!("{e:?}"),
    }
}

fn bad(what: &str) -> InfraError {
    InfraError::Template(what.to_string())
}

fn list<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v[field].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn text(v: &Value, field: &str) -> Result<String, InfraError> {
    match &v[field] {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(bad(&format!("{field} is missing"))),
    }
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, InfraError> {
    list(v, "KeySchema")
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?.as_str()))
                .build()
                .map_err(|e| aws("DynamoDB", "CreateTable", e))
        })
        .collect()
}

impl Stack {
    /// Creates every resource of [`CREATED_TYPES`] in the template, in dependency order.
    pub async fn create(
        template: &Template,
        sdk: &SdkConfig,
        account: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Stack, InfraError> {
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let mut stack = Stack {
            created: BTreeMap::new(),
            parameters: template.parameters(overrides),
            region,
            account: account.to_string(),
            template: template.clone(),
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let sns = aws_sdk_sns::Client::new(sdk);
        let wanted: Vec<(String, String, Value)> = template
            .resources()
            .into_iter()
            .filter(|(_, t, _)| CREATED_TYPES.contains(t))
            .map(|(id, t, p)| (id.to_string(), t.to_string(), p.clone()))
            .collect();
        // Resources whose properties name others (a queue's dead-letter queue) wait for them.
        while stack.created.len() < wanted.len() {
            let before = stack.created.len();
            for (id, kind, props) in &wanted {
                if stack.created.contains_key(id) {
                    continue;
                }
                let resolved = match stack.resolver().resolve(props) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                let created = match kind.as_str() {
                    "AWS::DynamoDB::Table" => table(&dynamodb, &resolved).await?,
                    "AWS::SQS::Queue" => queue(&sqs, &resolved).await?,
                    _ => topic(&sns, &resolved).await?,
                };
                stack.created.insert(id.clone(), created);
            }
            if stack.created.len() == before {
                let missing: Vec<&str> = wanted
                    .iter()
                    .filter(|(id, _, _)| !stack.created.contains_key(id))
                    .map(|(id, _, _)| id.as_str())
                    .collect();
                // Resolving again names what each one lacks.
                let why = wanted
                    .iter()
                    .find(|(id, _, _)| id == missing[0])
                    .map(|(_, _, p)| stack.resolver().resolve(p).err())
                    .and_then(|e| e.map(|e| e.to_string()))
                    .unwrap_or_default();
                return Err(bad(&format!("cannot create {missing:?}: {why}")));
            }
        }
        Ok(stack)
    }

    pub fn resolver(&self) -> Resolver<'_> {
        Resolver {
            parameters: &self.parameters,
            created: &self.created,
            region: &self.region,
            account: &self.account,
        }
    }

    /// A created resource's `Ref` (a table's name, a queue's URL, a topic's ARN).
    pub fn reference(&self, logical_id: &str) -> Option<&str> {
        self.created.get(logical_id).map(|c| c.reference.as_str())
    }

    /// The environment variables the template gives every function (its `Globals`). The
    /// stepper and the trigger also get `WAYMARK_PUBLIC_URL`, the HTTP API's URL, which a
    /// test stack does not have (the API function takes it from its requests).
    pub fn environment(&self) -> Result<BTreeMap<String, String>, InfraError> {
        let vars = &self.template.doc["Globals"]["Function"]["Environment"]["Variables"];
        let resolved = self.resolver().resolve(vars)?;
        let mut out = BTreeMap::new();
        if let Some(m) = resolved.as_object() {
            for (k, v) in m {
                out.insert(
                    k.clone(),
                    match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                );
            }
        }
        Ok(out)
    }
}

async fn table(client: &aws_sdk_dynamodb::Client, p: &Value) -> Result<Created, InfraError> {
    let name = text(p, "TableName")?;
    let mut req = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::from(
            p["BillingMode"].as_str().unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_key_schema(Some(key_schema(p)?));
    for a in list(p, "AttributeDefinitions") {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(
                    text(a, "AttributeType")?.as_str(),
                ))
                .build()
                .map_err(|e| aws("DynamoDB", "CreateTable", e))?,
        );
    }
    for g in list(p, "GlobalSecondaryIndexes") {
        let projection = &g["Projection"];
        let non_key: Vec<String> = list(projection, "NonKeyAttributes")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(g, "IndexName")?)
                .set_key_schema(Some(key_schema(g)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            projection["ProjectionType"].as_str().unwrap_or("ALL"),
                        ))
                        .set_non_key_attributes((!non_key.is_empty()).then_some(non_key))
                        .build(),
                )
                .build()
                .map_err(|e| aws("DynamoDB", "CreateTable", e))?,
        );
    }
    let out = req
        .send()
        .await
        .map_err(|e| aws("DynamoDB", "CreateTable", e))?;
    let ttl = &p["TimeToLiveSpecification"];
    if ttl["Enabled"] == Value::Bool(true) || ttl["Enabled"] == "true" {
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName")?)
                    .enabled(true)
                    .build()
                    .map_err(|e| aws("DynamoDB", "UpdateTimeToLive", e))?,
            )
            .send()
            .await
            .map_err(|e| aws("DynamoDB", "UpdateTimeToLive", e))?;
    }
    let arn = out
        .table_description
        .and_then(|d| d.table_arn)
        .unwrap_or_default();
    Ok(Created {
        reference: name,
        attributes: [("Arn".to_string(), arn)].into(),
    })
}

async fn queue(client: &aws_sdk_sqs::Client, p: &Value) -> Result<Created, InfraError> {
    let name = text(p, "QueueName")?;
    let mut attributes = HashMap::new();
    for (field, attr) in [
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        (
            "MessageRetentionPeriod",
            QueueAttributeName::MessageRetentionPeriod,
        ),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
    ] {
        if let Ok(v) = text(p, field) {
            attributes.insert(attr, v);
        }
    }
    if let Some(r) = p.get("RedrivePolicy").filter(|r| r.is_object()) {
        let count: u64 = text(r, "maxReceiveCount")?
            .parse()
            .map_err(|_| bad("maxReceiveCount is not a number"))?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": text(r, "deadLetterTargetArn")?,
            "maxReceiveCount": count,
        });
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let out = client
        .create_queue()
        .queue_name(&name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| aws("SQS", "CreateQueue", e))?;
    let url = out.queue_url.unwrap_or_default();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws("SQS", "GetQueueAttributes", e))?;
    let arn = attrs
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    Ok(Created {
        reference: url,
        attributes: [("Arn".to_string(), arn), ("QueueName".to_string(), name)].into(),
    })
}

async fn topic(client: &aws_sdk_sns::Client, p: &Value) -> Result<Created, InfraError> {
    let name = text(p, "TopicName")?;
    let out = client
        .create_topic()
        .name(&name)
        .send()
        .await
        .map_err(|e| aws("SNS", "CreateTopic", e))?;
    let arn = out.topic_arn.unwrap_or_default();
    Ok(Created {
        reference: arn.clone(),
        attributes: [
            ("TopicArn".to_string(), arn),
            ("TopicName".to_string(), name),
        ]
        .into(),
    })
}
