//! The vendored botocore models: which services there are, and each one's operations and shapes,
//! decompressed and parsed the first time a service is asked for.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::generated::MODELS;

/// One vendored model, as `models/update.py` lists it in `generated.rs`.
pub(crate) struct Vendored {
    /// Step Functions' name for the service (`aws-sdk:<sfn>:action`).
    pub sfn: &'static str,
    /// The PascalCase service name that prefixes its error names (`DynamoDb`).
    pub prefix: &'static str,
    /// botocore's directory name for it.
    pub botocore: &'static str,
    /// The minified model, gzipped.
    pub gz: &'static [u8],
}

#[derive(Debug, Deserialize)]
pub(crate) struct Model {
    pub metadata: Metadata,
    pub operations: HashMap<String, Operation>,
    pub shapes: HashMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metadata {
    pub api_version: String,
    pub endpoint_prefix: String,
    pub protocol: String,
    #[serde(default)]
    pub protocols: Vec<String>,
    pub json_version: Option<String>,
    pub target_prefix: Option<String>,
    pub signing_name: Option<String>,
    pub service_id: String,
    pub global_endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Operation {
    pub name: String,
    pub http: Http,
    pub input: Option<Ref>,
    pub output: Option<Ref>,
    #[serde(default)]
    pub http_checksum_required: bool,
    pub http_checksum: Option<HttpChecksum>,
    pub endpoint: Option<OpEndpoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HttpChecksum {
    #[serde(default)]
    pub request_checksum_required: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpEndpoint {
    pub host_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Http {
    pub method: String,
    pub request_uri: String,
}

/// A reference to a shape: an operation's input or output, or a member, list element, map key
/// or value, with the serialisation traits the reference carries.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ref {
    pub shape: String,
    pub location: Option<String>,
    pub location_name: Option<String>,
    pub query_name: Option<String>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub xml_attribute: bool,
    pub xml_namespace: Option<XmlNamespace>,
    pub timestamp_format: Option<String>,
    pub result_wrapper: Option<String>,
    #[serde(default)]
    pub host_label: bool,
    #[serde(default)]
    pub idempotency_token: bool,
    /// A header whose value is base64-encoded JSON.
    #[serde(default)]
    pub jsonvalue: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum XmlNamespace {
    Uri { uri: String, prefix: Option<String> },
    Plain(String),
}

impl XmlNamespace {
    pub fn attribute(&self) -> (String, String) {
        match self {
            XmlNamespace::Uri { uri, prefix } => match prefix {
                Some(p) => (format!("xmlns:{p}"), uri.clone()),
                None => ("xmlns".to_string(), uri.clone()),
            },
            XmlNamespace::Plain(uri) => ("xmlns".to_string(), uri.clone()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub members: IndexMap<String, Ref>,
    pub member: Option<Box<Ref>>,
    pub key: Option<Box<Ref>>,
    pub value: Option<Box<Ref>>,
    #[serde(default)]
    pub flattened: bool,
    pub location_name: Option<String>,
    pub payload: Option<String>,
    pub timestamp_format: Option<String>,
    pub error: Option<ErrorTrait>,
    #[serde(default)]
    pub exception: bool,
    pub xml_namespace: Option<XmlNamespace>,
    #[serde(default)]
    pub streaming: bool,
    #[serde(default)]
    pub document: bool,
    #[serde(default)]
    pub eventstream: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorTrait {
    pub code: Option<String>,
}

/// A service ready for calls: its model and names.
pub(crate) struct Service {
    pub vendored: &'static Vendored,
    pub model: Model,
    /// Error codes (a modeled error shape's name, and its `error.code` where that differs) to
    /// the shape's name.
    pub errors: HashMap<String, String>,
    /// Step Functions' action names (`getObject`) to the operations' (`GetObject`).
    pub actions: HashMap<String, String>,
}

impl Model {
    pub fn shape(&self, name: &str) -> &Shape {
        // The models are botocore's, whose references all resolve; a dangling one is a broken
        // vendored file, which the tests load in full.
        self.shapes
            .get(name)
            .unwrap_or_else(|| panic!("model has no shape {name}"))
    }

    /// The wire protocol this caller speaks to the service: the first of the model's
    /// `protocols` that it implements.
    pub fn protocol(&self) -> &str {
        const SPOKEN: [&str; 5] = ["json", "rest-json", "rest-xml", "query", "ec2"];
        self.metadata
            .protocols
            .iter()
            .map(String::as_str)
            .find(|p| SPOKEN.contains(p))
            .unwrap_or(&self.metadata.protocol)
    }

    /// Whether the operation streams events (Bedrock's `invokeModelWithResponseStream`, S3's
    /// `selectObjectContent`), which Step Functions' SDK integrations do not offer.
    pub fn streams_events(&self, op: &Operation) -> bool {
        [&op.input, &op.output].into_iter().flatten().any(|r| {
            self.shape(&r.shape)
                .members
                .values()
                .any(|m| self.shape(&m.shape).eventstream)
        })
    }

    pub fn signing_name(&self) -> &str {
        self.metadata
            .signing_name
            .as_deref()
            .unwrap_or(&self.metadata.endpoint_prefix)
    }
}

/// The vendored service Step Functions calls `sfn_name`.
pub(crate) fn vendored(sfn_name: &str) -> Option<&'static Vendored> {
    MODELS.iter().find(|v| v.sfn == sfn_name)
}

/// Every vendored service's Step Functions name.
pub fn services() -> impl Iterator<Item = &'static str> {
    MODELS.iter().map(|v| v.sfn)
}

/// The parsed service, loaded once per process.
pub(crate) fn service(sfn_name: &str) -> Option<Arc<Service>> {
    static LOADED: OnceLock<Mutex<HashMap<&'static str, Arc<Service>>>> = OnceLock::new();
    let vendored = vendored(sfn_name)?;
    let loaded = LOADED.get_or_init(Default::default);
    if let Some(s) = loaded
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(vendored.sfn)
    {
        return Some(s.clone());
    }
    let service = Arc::new(load(vendored));
    loaded
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(vendored.sfn, service.clone());
    Some(service)
}

fn load(vendored: &'static Vendored) -> Service {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(vendored.gz)
        .read_to_end(&mut json)
        .unwrap_or_else(|e| panic!("vendored model {} is corrupt: {e}", vendored.botocore));
    let mut model: Model = serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("vendored model {} is corrupt: {e}", vendored.botocore));
    step_functions_member_names(&mut model);
    let mut errors = HashMap::new();
    for (name, shape) in &model.shapes {
        if shape.exception || shape.error.is_some() {
            errors.insert(name.clone(), name.clone());
            if let Some(code) = shape.error.as_ref().and_then(|e| e.code.clone()) {
                errors.entry(code).or_insert_with(|| name.clone());
            }
        }
    }
    let mut actions = HashMap::new();
    for name in model.operations.keys() {
        actions.insert(lower_first(name), name.clone());
    }
    Service {
        vendored,
        model,
        errors,
        actions,
    }
}

/// Step Functions names members as the Java SDK v2 does, first letter capitalised (developer
/// guide: parameters are PascalCase "even if the native service API is camelCase"): the
/// Java SDK's `unCapitalize` lowercases a leading run of capitals but for the one that starts
/// the next word (`DBInstanceIdentifier` → `DbInstanceIdentifier`, `SSEKMSKeyId` →
/// `SsekmsKeyId`, `BOOL` → `Bool`, `SS` → `Ss`, `cluster` → `Cluster`), `NULL` is `Nul` (`null`
/// is a Java keyword) and `Equals` is `EqualsValue` ("to work with certain language naming
/// convention requirements"). The wire names stay the model's.
pub(crate) fn step_functions_member_names(model: &mut Model) {
    for shape in model.shapes.values_mut() {
        let renames: Vec<(usize, String)> = shape
            .members
            .keys()
            .enumerate()
            .filter_map(|(i, k)| {
                let n = step_functions_name(k);
                (n != *k).then_some((i, n))
            })
            .collect();
        for (i, new) in renames {
            let (old, mut r) = shape
                .members
                .shift_remove_index(i)
                .expect("index just found");
            r.location_name.get_or_insert_with(|| old.clone());
            if shape.payload.as_deref() == Some(old.as_str()) {
                shape.payload = Some(new.clone());
            }
            shape.members.shift_insert(i, new, r);
        }
    }
}

/// A member's name in Step Functions ([`step_functions_member_names`]).
pub fn step_functions_name(member: &str) -> String {
    let chars: Vec<char> = member.chars().collect();
    let mut java: String = if chars.iter().all(|c| !c.is_ascii_lowercase()) {
        member.to_ascii_lowercase()
    } else {
        // The leading capitals, but for the last one when a lowercase letter follows it.
        let run = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
        let lower = match run {
            0 => 0,
            1 => 1,
            n if chars.get(n).is_some_and(|c| c.is_ascii_lowercase()) => n - 1,
            n => n,
        };
        chars
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < lower {
                    c.to_ascii_lowercase()
                } else {
                    *c
                }
            })
            .collect()
    };
    match java.as_str() {
        "null" => java = "nul".into(),
        "equals" => java = "equalsValue".into(),
        _ => {}
    }
    let mut c = java.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
