//! Where the integrations send their calls, and the SDK clients built from that. Lambda gets
//! its own endpoint because functions are usually served apart from the other services
//! locally (`sam local start-lambda`, `cargo lambda watch`) while SNS, SQS and DynamoDB share
//! one AWS-compatible server (moto, LocalStack).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::config::{Credentials, SharedCredentialsProvider};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskConfig {
    pub region: String,
    /// Where Lambda calls go; `None`: the SDK's default (which honours `AWS_ENDPOINT_URL` and
    /// `AWS_ENDPOINT_URL_LAMBDA`).
    pub lambda_endpoint: Option<String>,
    /// Where SNS, SQS and DynamoDB calls go; `None`: the SDK's default, as above.
    pub aws_endpoint: Option<String>,
}

impl TaskConfig {
    pub fn new(region: impl Into<String>) -> Self {
        TaskConfig {
            region: region.into(),
            lambda_endpoint: None,
            aws_endpoint: None,
        }
    }

    pub fn with_lambda_endpoint(mut self, url: impl Into<String>) -> Self {
        self.lambda_endpoint = Some(url.into());
        self
    }

    pub fn with_aws_endpoint(mut self, url: impl Into<String>) -> Self {
        self.aws_endpoint = Some(url.into());
        self
    }
}

/// The clients the integrations use: the SDK's for the optimised integrations, and the
/// model-driven caller for `aws-sdk:` ones. Cloning is cheap: clients share their connections.
#[derive(Debug, Clone)]
pub struct Clients {
    pub lambda: aws_sdk_lambda::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// `arn:aws:states:::aws-sdk:SERVICE:action`, sent where SNS, SQS and DynamoDB go.
    pub sdk: waymark_sdk::SdkCaller,
    pub(crate) custom_endpoints: CustomEndpoints,
}

/// Which services' calls go to an endpoint of the user's choosing: a local server, which
/// checks no identity.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CustomEndpoints {
    pub lambda: bool,
    pub sns: bool,
    pub sqs: bool,
    pub dynamodb: bool,
    pub sdk: bool,
}

impl Clients {
    /// Reads the SDK's shared configuration (environment and profile files) without any
    /// network call: credentials are resolved at the first request.
    pub async fn new(config: &TaskConfig) -> Clients {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .load()
            .await;
        Clients::from_sdk_config(&sdk, config)
    }

    /// Clients over an SDK configuration the caller already has, with the endpoints of
    /// `config` (its region is not used: `sdk`'s is).
    ///
    /// The SDK does not retry: Step Functions reports throttling and service errors to the
    /// state machine (`Lambda.TooManyRequestsException`, …), whose Retry decides; the SDK
    /// retrying underneath would hide them and multiply the delays.
    pub fn from_sdk_config(sdk: &SdkConfig, config: &TaskConfig) -> Clients {
        let lambda_endpoint = endpoint(sdk, config.lambda_endpoint.as_deref(), "LAMBDA");
        let mut lambda =
            aws_sdk_lambda::config::Builder::from(sdk).retry_config(RetryConfig::disabled());
        if let Some(url) = &config.lambda_endpoint {
            lambda = lambda.endpoint_url(url);
        }
        if lambda_endpoint {
            lambda = lambda.credentials_provider(local_credentials());
        }

        let mut sns = aws_sdk_sns::config::Builder::from(sdk).retry_config(RetryConfig::disabled());
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk).retry_config(RetryConfig::disabled());
        let mut dynamodb =
            aws_sdk_dynamodb::config::Builder::from(sdk).retry_config(RetryConfig::disabled());
        if let Some(url) = &config.aws_endpoint {
            sns = sns.endpoint_url(url);
            sqs = sqs.endpoint_url(url);
            dynamodb = dynamodb.endpoint_url(url);
        }
        let aws = config.aws_endpoint.as_deref();
        let (sns_endpoint, sqs_endpoint, dynamodb_endpoint) = (
            endpoint(sdk, aws, "SNS"),
            endpoint(sdk, aws, "SQS"),
            endpoint(sdk, aws, "DYNAMODB"),
        );
        if sns_endpoint {
            sns = sns.credentials_provider(local_credentials());
        }
        if sqs_endpoint {
            sqs = sqs.credentials_provider(local_credentials());
        }
        if dynamodb_endpoint {
            dynamodb = dynamodb.credentials_provider(local_credentials());
        }
        // Any service: custom when the user named an endpoint for all of them.
        let sdk_endpoint = aws.is_some() || sdk.endpoint_url().is_some();
        let sdk_config = if sdk_endpoint {
            sdk.to_builder()
                .credentials_provider(local_credentials())
                .build()
        } else {
            sdk.clone()
        };
        let caller = waymark_sdk::SdkCaller::with_sdk_config(
            sdk_config,
            waymark_sdk::Config {
                endpoint_url: config.aws_endpoint.clone(),
                region: None,
            },
        );
        Clients {
            custom_endpoints: CustomEndpoints {
                lambda: lambda_endpoint,
                sns: sns_endpoint,
                sqs: sqs_endpoint,
                dynamodb: dynamodb_endpoint,
                sdk: sdk_endpoint,
            },
            sdk: caller,
            lambda: aws_sdk_lambda::Client::from_conf(lambda.build()),
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        }
    }
}

/// Whether a service's calls go to an endpoint of the user's choosing rather than AWS's.
fn endpoint(sdk: &SdkConfig, configured: Option<&str>, service_env: &str) -> bool {
    configured.is_some()
        || sdk.endpoint_url().is_some()
        || std::env::var_os(format!("AWS_ENDPOINT_URL_{service_env}")).is_some()
}

/// Credentials for a chosen endpoint: the environment's when it has some, otherwise dummy
/// ones, since local servers check no signature. The SDK's default chain is not used there:
/// without credentials in the environment it would end by probing the EC2 instance metadata
/// service, which on a developer's machine only costs seconds of timeouts.
fn local_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(
        CredentialsProviderChain::first_try(
            "Environment",
            EnvironmentVariableCredentialsProvider::new(),
        )
        .or_else(
            "Dummy",
            Credentials::new("test", "test", None, None, "waymark-local-endpoint"),
        ),
    )
}
