//! SQS's SendMessage (`arn:aws:states:::sqs:sendMessage`, and `.waitForTaskToken`, where the
//! message carries the token to the worker that answers). A `MessageBody` written as JSON is
//! sent as its JSON text, as Step Functions does.

use std::time::Duration;

use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::operation::RequestId;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
};
use serde_json::{Map, Value};
use waymark_asl::Failure;

use crate::errors::SQS;
use crate::message_attributes::{self, Attribute};
use crate::metadata::HttpCapture;
use crate::params::Params;

const SEND_MESSAGE_FIELDS: &[&str] = &[
    "DelaySeconds",
    "MessageAttributes",
    "MessageBody",
    "MessageDeduplicationId",
    "MessageGroupId",
    "MessageSystemAttributes",
    "QueueUrl",
];

/// The result is SendMessage's response (`MessageId`, `MD5OfMessageBody`, …), with the SDK's
/// HTTP metadata.
pub(crate) async fn send_message(
    client: &aws_sdk_sqs::Client,
    parameters: &Value,
    timeout: Option<Duration>,
) -> Result<Value, Failure> {
    let p = Params::new(parameters, SEND_MESSAGE_FIELDS)?;
    let queue_url = p.required_str("QueueUrl")?;
    p.required("MessageBody")?;
    let mut call = client
        .send_message()
        .queue_url(queue_url)
        .set_message_body(p.text_or_json("MessageBody")?)
        .set_delay_seconds(p.i32("DelaySeconds")?)
        .set_message_deduplication_id(p.str("MessageDeduplicationId")?.map(str::to_string))
        .set_message_group_id(p.str("MessageGroupId")?.map(str::to_string));
    for (name, a) in message_attributes::read(&p, "MessageAttributes")? {
        let value =
            attribute(a).map_err(|e| p.invalid(format!("MessageAttributes.{name}: {e}")))?;
        call = call.message_attributes(name, value);
    }
    for (name, a) in message_attributes::read(&p, "MessageSystemAttributes")? {
        let value = MessageSystemAttributeValue::builder()
            .data_type(a.data_type)
            .set_string_value(a.string_value)
            .set_binary_value(a.binary_value.map(Blob::new))
            .build()
            .map_err(|e| p.invalid(format!("MessageSystemAttributes.{name}: {e}")))?;
        call = call.message_system_attributes(
            MessageSystemAttributeNameForSends::from(name.as_str()),
            value,
        );
    }
    let http = HttpCapture::default();
    let mut op = call.customize().interceptor(http.clone());
    if let Some(t) = timeout {
        op = op.config_override(
            aws_sdk_sqs::Config::builder()
                .timeout_config(TimeoutConfig::builder().operation_timeout(t).build()),
        );
    }
    let out = op.send().await.map_err(|e| SQS.sdk_failure(&e, &http))?;
    let mut result = Map::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            result.insert(k.to_string(), Value::String(v.to_string()));
        }
    };
    put("MD5OfMessageAttributes", out.md5_of_message_attributes());
    put("MD5OfMessageBody", out.md5_of_message_body());
    put(
        "MD5OfMessageSystemAttributes",
        out.md5_of_message_system_attributes(),
    );
    put("MessageId", out.message_id());
    put("SequenceNumber", out.sequence_number());
    http.add_metadata(&mut result, out.request_id());
    Ok(Value::Object(result))
}

fn attribute(a: Attribute) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type(a.data_type)
        .set_string_value(a.string_value)
        .set_binary_value(a.binary_value.map(Blob::new))
        .set_string_list_values((!a.string_list_values.is_empty()).then_some(a.string_list_values))
        .set_binary_list_values(
            (!a.binary_list_values.is_empty())
                .then(|| a.binary_list_values.into_iter().map(Blob::new).collect()),
        )
        .build()
        .map_err(|e| e.to_string())
}
