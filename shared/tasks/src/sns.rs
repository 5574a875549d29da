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

/// The result is Publish's response: `MessageId` (and `SequenceNumber` for FIFO topics), with
/// the SDK's HTTP metadata.
pub(crate) async fn publish(
    client: &aws_sdk_sns::Client,
    parameters: &Value,
    timeout: Option<Duration>,
) -> Result<Value, Failure> {
    let p = Params::new(parameters, PUBLISH_FIELDS)?;
    p.required("Message")?;
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
