//! SNS's Publish (`arn:aws:states:::sns:publish`, and `.waitForTaskToken`, where the message
//! carries the token to whoever answers). A `Message` written as JSON is sent as its JSON text,
//! as Step Functions does, so a callback message can be built as an object.

use std::time::Duration;

use aws_sdk_sns::config::timeout::TimeoutConfig;
use aws_sdk_sns::operation::RequestId;
use aws_sdk_sns::primitives::Blob;
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{Map, Value};
use waymark_asl::Failure;

use crate::errors::SNS;
use crate::message_attributes;
use crate::metadata::HttpCapture;
use crate::params::Params;

const PUBLISH_FIELDS: &[&str] = &[
    "Message",
    "MessageAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
    "MessageStructure",
    "PhoneNumber",
    "Subject",
    "TargetArn",
    "TopicArn",
];

/// Publish's parameters, refused as Step Functions refuses them (`States.Runtime`) when a field
/// is unknown or a destination (TopicArn, TargetArn, PhoneNumber) or the Message is missing:
/// static Parameters were checked when the definition was created, values from paths are
/// checked here.
pub fn check_publish(parameters: &Value) -> Result<(), Failure> {
    publish_params(parameters).map(|_| ())
}

fn publish_params(parameters: &Value) -> Result<Params<'_>, Failure> {
    let p = Params::new(parameters, PUBLISH_FIELDS)?;
    if let Some(names) =
        waymark_asl::resource::missing_fields("sns:publish", |n| p.get(n).is_some()).first()
    {
        return Err(p.invalid(waymark_asl::resource::missing_field_message(names)));
    }
    Ok(p)
}

/// The result is Publish's response: `MessageId` (and `SequenceNumber` for FIFO topics), with
/// the SDK's HTTP metadata.
pub(crate) async fn publish(
    client: &aws_sdk_sns::Client,
    parameters: &Value,
    timeout: Option<Duration>,
) -> Result<Value, Failure> {
    let p = publish_params(parameters)?;
    let mut call = client
        .publish()
        .set_topic_arn(p.str("TopicArn")?.map(str::to_string))
        .set_target_arn(p.str("TargetArn")?.map(str::to_string))
        .set_phone_number(p.str("PhoneNumber")?.map(str::to_string))
        .set_message(p.text_or_json("Message")?)
        .set_subject(p.str("Subject")?.map(str::to_string))
        .set_message_structure(p.str("MessageStructure")?.map(str::to_string))
        .set_message_deduplication_id(p.str("MessageDeduplicationId")?.map(str::to_string))
        .set_message_group_id(p.str("MessageGroupId")?.map(str::to_string));
    for (name, a) in message_attributes::read(&p, "MessageAttributes")? {
        if !a.string_list_values.is_empty() || !a.binary_list_values.is_empty() {
            return Err(p.invalid(format!(
                "MessageAttributes.{name}: SNS attributes have no StringListValues or BinaryListValues"
            )));
        }
        let value = MessageAttributeValue::builder()
            .data_type(a.data_type)
            .set_string_value(a.string_value)
            .set_binary_value(a.binary_value.map(Blob::new))
            .build()
            .map_err(|e| p.invalid(format!("MessageAttributes.{name}: {e}")))?;
        call = call.message_attributes(name, value);
    }
    let http = HttpCapture::default();
    let mut op = call.customize().interceptor(http.clone());
    if let Some(t) = timeout {
        op = op.config_override(
            aws_sdk_sns::Config::builder()
                .timeout_config(TimeoutConfig::builder().operation_timeout(t).build()),
        );
    }
    let out = op.send().await.map_err(|e| SNS.sdk_failure(&e, &http))?;
    let mut result = Map::new();
    if let Some(id) = out.message_id() {
        result.insert("MessageId".into(), Value::String(id.to_string()));
    }
    if let Some(n) = out.sequence_number() {
        result.insert("SequenceNumber".into(), Value::String(n.to_string()));
    }
    http.add_metadata(&mut result, out.request_id());
    Ok(Value::Object(result))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check_publish;

    #[test]
    fn publish_needs_a_destination_and_a_message_at_run_time() {
        let e = check_publish(&json!({"Message": "hi"})).err().unwrap();
        assert_eq!(e.error.as_deref(), Some("States.Runtime"));
        assert_eq!(
            e.cause.as_deref(),
            Some("The Parameters '{\"Message\":\"hi\"}' could not be used to start the Task: [One of the fields 'TopicArn', 'TargetArn' or 'PhoneNumber' is required but none was present]")
        );
        let e = check_publish(&json!({"TopicArn": "t", "Message": null}))
            .err()
            .unwrap();
        assert!(e
            .cause
            .unwrap()
            .ends_with("[The field 'Message' is required but was missing]"));
        assert!(
            check_publish(&json!({"PhoneNumber": "+15555550100", "Message": {"a": 1}})).is_ok()
        );
    }
}
