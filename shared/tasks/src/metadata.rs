//! What an integration's result says about the HTTP exchange behind it. Step Functions adds
//! `SdkHttpMetadata` and `SdkResponseMetadata` to the results of its optimized integrations, and
//! workflows read them (the status code, the request id). The SDK's outputs keep neither the
//! headers nor the URL called, so an interceptor on each call records them; the URL also names
//! the endpoint in the cause of a failed connection.

use std::sync::{Arc, Mutex, MutexGuard};

use aws_sdk_lambda::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_lambda::config::{ConfigBag, Intercept, RuntimeComponents};
use serde_json::{Map, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Default)]
struct Exchange {
    url: Option<String>,
    status: Option<u16>,
    headers: Vec<(String, String)>,
}

/// Records one call's URL, status and response headers. Clones share the record, so the
/// caller keeps one clone and gives the other to the SDK.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpCapture(Arc<Mutex<Exchange>>);

impl HttpCapture {
    fn lock(&self) -> MutexGuard<'_, Exchange> {
        // A panic elsewhere cannot leave the record half-written in a way that matters here.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The URL called, without its query string.
    pub(crate) fn url(&self) -> Option<String> {
        self.lock().url.clone()
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.lock()
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    /// `{"AllHttpHeaders": {name: [values]}, "HttpHeaders": {name: value}, "HttpStatusCode": n}`.
    pub(crate) fn sdk_http_metadata(&self) -> Value {
        let ex = self.lock();
        let mut all = Map::new();
        let mut single = Map::new();
        for (name, value) in &ex.headers {
            if let Some(Value::Array(values)) = all.get_mut(name) {
                values.push(Value::String(value.clone()));
            } else {
                all.insert(
                    name.clone(),
                    Value::Array(vec![Value::String(value.clone())]),
                );
            }
            single.insert(name.clone(), Value::String(value.clone()));
        }
        let mut m = Map::new();
        m.insert("AllHttpHeaders".into(), Value::Object(all));
        m.insert("HttpHeaders".into(), Value::Object(single));
        m.insert(
            "HttpStatusCode".into(),
            ex.status.map_or(Value::Null, Value::from),
        );
        Value::Object(m)
    }

    /// `{"RequestId": id}`, from the SDK's parsed id when it has one (SNS sends it in the body),
    /// otherwise from the headers.
    pub(crate) fn sdk_response_metadata(&self, request_id: Option<&str>) -> Value {
        let id = request_id
            .map(str::to_string)
            .or_else(|| self.request_id())
            .unwrap_or_default();
        let mut m = Map::new();
        m.insert("RequestId".into(), Value::String(id));
        Value::Object(m)
    }

    pub(crate) fn request_id(&self) -> Option<String> {
        self.header("x-amzn-requestid")
            .or_else(|| self.header("x-amz-request-id"))
    }

    /// Adds `SdkHttpMetadata` and `SdkResponseMetadata` to a result object.
    pub(crate) fn add_metadata(&self, result: &mut Map<String, Value>, request_id: Option<&str>) {
        result.insert("SdkHttpMetadata".into(), self.sdk_http_metadata());
        result.insert(
            "SdkResponseMetadata".into(),
            self.sdk_response_metadata(request_id),
        );
    }
}

impl Intercept for HttpCapture {
    fn name(&self) -> &'static str {
        "WaymarkHttpCapture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri();
        let url = uri.split_once('?').map_or(uri, |(u, _)| u).to_string();
        self.lock().url = Some(url);
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let mut ex = self.lock();
        ex.status = Some(response.status().as_u16());
        ex.headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Ok(())
    }
}
