//! A Task's `Resource` ARN as far as the language knows it: which service integrations exist,
//! and the two ways of writing one.
//!
//! AWS's documentation writes integrations without region or account
//! (`arn:aws:states:::lambda:invoke`), but definitions made from CloudFormation `!Sub`
//! templates often carry them (`arn:aws:states:us-east-1:123456789012:lambda:invoke`), and AWS
//! accepts those with the same meaning. Whether AWS refuses a region other than the state
//! machine's is not documented that we could find, so any well-formed region and account are
//! accepted here: the integration always runs where the state machine runs.

use std::borrow::Cow;

/// AWS's optimised integrations (service:action), which `arn:aws:states:::` resources may name.
pub const INTEGRATIONS: &[&str] = &[
    "lambda:invoke",
    "sns:publish",
    "sqs:sendMessage",
    "dynamodb:getItem",
    "dynamodb:putItem",
    "dynamodb:updateItem",
    "dynamodb:deleteItem",
    "states:startExecution",
    "events:putEvents",
    "apigateway:invoke",
    "http:invoke",
    "batch:submitJob",
    "ecs:runTask",
    "glue:startJobRun",
    "databrew:startJobRun",
    "athena:startQueryExecution",
    "athena:stopQueryExecution",
    "athena:getQueryExecution",
    "athena:getQueryResults",
    "codebuild:startBuild",
    "codebuild:stopBuild",
    "codebuild:batchDeleteBuilds",
    "codebuild:batchGetReports",
    "codebuild:startBuildBatch",
    "bedrock:invokeModel",
    "bedrock:createModelCustomizationJob",
    "bedrockagentcore:invokeHarness",
    "mediaconvert:createJob",
    "eks:createCluster",
    "eks:deleteCluster",
    "eks:createFargateProfile",
    "eks:deleteFargateProfile",
    "eks:createNodegroup",
    "eks:deleteNodegroup",
    "eks:runJob",
    "eks:call",
    "elasticmapreduce:createCluster",
    "elasticmapreduce:terminateCluster",
    "elasticmapreduce:addStep",
    "elasticmapreduce:cancelStep",
    "elasticmapreduce:setClusterTerminationProtection",
    "elasticmapreduce:modifyInstanceFleetByName",
    "elasticmapreduce:modifyInstanceGroupByName",
    "emr-containers:startJobRun",
    "emr-containers:createVirtualCluster",
    "emr-containers:deleteVirtualCluster",
    "emr-serverless:createApplication",
    "emr-serverless:startApplication",
    "emr-serverless:stopApplication",
    "emr-serverless:deleteApplication",
    "emr-serverless:startJobRun",
    "emr-serverless:cancelJobRun",
    "sagemaker:createTrainingJob",
    "sagemaker:createTransformJob",
    "sagemaker:createModel",
    "sagemaker:createEndpoint",
    "sagemaker:createEndpointConfig",
    "sagemaker:updateEndpoint",
    "sagemaker:createHyperParameterTuningJob",
    "sagemaker:createLabelingJob",
    "sagemaker:createProcessingJob",
    "sagemaker:startPipelineExecution",
];

/// The part after `arn:PARTITION:states:::` (`lambda:invoke.waitForTaskToken`) when
/// `resource` names a service integration, in either form: without region and account, or
/// with a well-formed region and account and a known integration service (`aws-sdk` included),
/// so that activities (`…:activity:NAME`) and anything else are not mistaken for one.
pub fn integration_part(resource: &str) -> Option<&str> {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let ["arn", partition, "states", region, account, rest] = parts.as_slice() else {
        return None;
    };
    if partition.is_empty() {
        return None;
    }
    if region.is_empty() && account.is_empty() {
        return Some(rest);
    }
    let service = rest.split(':').next().unwrap_or_default();
    let known = service == "aws-sdk"
        || INTEGRATIONS
            .iter()
            .any(|i| i.split(':').next() == Some(service));
    (is_region(region) && is_account(account) && known).then_some(rest)
}

/// `resource` as the integration is written without region and account
/// (`arn:aws:states:::lambda:invoke`); any other resource as it is.
pub fn canonical(resource: &str) -> Cow<'_, str> {
    let mut parts = resource.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("states"), Some(region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Cow::Borrowed(resource);
    };
    if region.is_empty() && account.is_empty() {
        return Cow::Borrowed(resource);
    }
    match integration_part(resource) {
        Some(rest) => Cow::Owned(format!("arn:{partition}:states:::{rest}")),
        None => Cow::Borrowed(resource),
    }
}

/// The fields an integration's call cannot go without (`service:action`, no pattern): each
/// entry is met by any one of its names. SNS Publish needs a destination and a message.
pub fn required_fields(service_action: &str) -> &'static [&'static [&'static str]] {
    match service_action {
        "sns:publish" => &[&["TopicArn", "TargetArn", "PhoneNumber"], &["Message"]],
        _ => &[],
    }
}

/// What a definition or a task's parameters lacking one of `names` is told.
pub fn missing_field_message(names: &[&str]) -> String {
    match names {
        [one] => format!("The field '{one}' is required but was missing"),
        [init @ .., last] => format!(
            "One of the fields {} or '{last}' is required but none was present",
            init.iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [] => String::new(),
    }
}

/// The `required_fields` entries that `present` (a field name, as written: `Message` or
/// `Message.$`, is it there?) does not meet.
pub fn missing_fields(
    service_action: &str,
    present: impl Fn(&str) -> bool,
) -> Vec<&'static [&'static str]> {
    required_fields(service_action)
        .iter()
        .copied()
        .filter(|names| !names.iter().any(|n| present(n)))
        .collect()
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-2`: letters in dash-separated
/// groups, the last a number.
fn is_region(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let Some((number, words)) = groups.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Twelve digits.
fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_name_the_same_integration() {
        for (written, plain) in [
            (
                "arn:aws:states:us-east-1:123456789012:lambda:invoke",
                "arn:aws:states:::lambda:invoke",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject",
                "arn:aws:states:::aws-sdk:s3:getObject",
            ),
            (
                "arn:aws:states:eu-west-3:123456789012:sqs:sendMessage.waitForTaskToken",
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            ),
            (
                "arn:aws-us-gov:states:us-gov-west-1:123456789012:states:startExecution.sync:2",
                "arn:aws-us-gov:states:::states:startExecution.sync:2",
            ),
            (
                "arn:aws-cn:states:cn-north-1:123456789012:sns:publish",
                "arn:aws-cn:states:::sns:publish",
            ),
        ] {
            assert_eq!(canonical(written), plain, "{written}");
            assert_eq!(integration_part(written), integration_part(plain));
            assert_eq!(canonical(plain), plain);
        }
    }

    #[test]
    fn sns_publish_needs_a_destination_and_a_message() {
        let missing = missing_fields("sns:publish", |n| n == "Message");
        assert_eq!(missing, [&["TopicArn", "TargetArn", "PhoneNumber"][..]]);
        assert_eq!(
            missing_field_message(missing[0]),
            "One of the fields 'TopicArn', 'TargetArn' or 'PhoneNumber' is required but none was present"
        );
        let missing = missing_fields("sns:publish", |n| n == "PhoneNumber");
        assert_eq!(
            missing_field_message(missing[0]),
            "The field 'Message' is required but was missing"
        );
        assert!(missing_fields("sns:publish", |n| n == "TargetArn" || n == "Message").is_empty());
        assert!(missing_fields("lambda:invoke", |_| false).is_empty());
    }

    #[test]
    fn activities_functions_and_malformed_regions_are_left_alone() {
        for other in [
            "arn:aws:states:us-east-1:123456789012:activity:approve",
            "arn:aws:lambda:us-east-1:123456789012:function:greet",
            "arn:aws:states:us-east-1::lambda:invoke",
            "arn:aws:states::123456789012:lambda:invoke",
            "arn:aws:states:useast1:123456789012:lambda:invoke",
            "arn:aws:states:us-east-1:1234:lambda:invoke",
            "arn:aws:states:us-east-1:123456789012:nosuch:thing",
            "arn::states:::lambda:invoke",
            "lambda:invoke",
            "",
        ] {
            assert_eq!(canonical(other), other, "{other}");
        }
        assert_eq!(
            integration_part("arn:aws:states:us-east-1:123456789012:activity:approve"),
            None
        );
    }
}
