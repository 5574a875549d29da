//! What the AWS home spends: every request it sends to DynamoDB, SQS and SNS, counted by
//! operation through an SDK interceptor, and the DynamoDB capacity units its writes and reads
//! consume, estimated from item sizes with DynamoDB's rounding rules. The end-to-end tests turn
//! these into dollars per transition (`infra/COSTS.md`); an operator can log them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Counters shared by every client of one home.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Snapshot>,
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `(service, operation)` → requests sent (every attempt counts, retries too).
    pub requests: BTreeMap<(String, String), u64>,
    /// DynamoDB write request units, estimated (transactional writes count double).
    pub write_units: f64,
    /// DynamoDB read request units, estimated (strongly consistent reads: 1 per 4 KB).
    pub read_units: f64,
}

impl Snapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let mut requests = BTreeMap::new();
        for (k, v) in &self.requests {
            let d = v - earlier.requests.get(k).copied().unwrap_or(0);
            if d > 0 {
                requests.insert(k.clone(), d);
            }
        }
        Snapshot {
            requests,
            write_units: self.write_units - earlier.write_units,
            read_units: self.read_units - earlier.read_units,
        }
    }

    pub fn count(&self, service: &str, operation: &str) -> u64 {
        self.requests
            .get(&(service.to_string(), operation.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// All requests to one service.
    pub fn service_total(&self, service: &str) -> u64 {
        self.requests
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|(_, n)| n)
            .sum()
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    fn with(&self, f: impl FnOnce(&mut Snapshot)) {
        // A poisoned lock only means a panic elsewhere: counting goes on.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }

    pub fn record_request(&self, service: &str, operation: &str) {
        self.with(|s| {
            *s.requests
                .entry((service.to_string(), operation.to_string()))
                .or_insert(0) += 1
        });
    }

    pub fn add_write_units(&self, units: f64) {
        self.with(|s| s.write_units += units);
    }

    pub fn add_read_units(&self, units: f64) {
        self.with(|s| s.read_units += units);
    }

    pub fn snapshot(&self) -> Snapshot {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.clone()
    }

    /// An interceptor for an SDK client's configuration that counts its requests here.
    pub fn interceptor(self: &Arc<Self>) -> RequestCounter {
        RequestCounter(self.clone())
    }
}

/// Counts each request attempt by the operation's service and name.
#[derive(Debug, Clone)]
pub struct RequestCounter(Arc<Metrics>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "WaymarkRequestCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.0.record_request(m.service(), m.name());
        }
        Ok(())
    }
}

/// DynamoDB's write units for an item of `bytes`: one per KB, rounded up, at least one.
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// DynamoDB's strongly consistent read units for `bytes` read together (a Query sums its
/// items before rounding): one per 4 KB, rounded up, at least one.
pub fn read_units(bytes: usize) -> f64 {
    bytes.div_ceil(4096).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_up_per_item_and_per_read() {
        assert_eq!(write_units(0), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(read_units(4096), 1.0);
        assert_eq!(read_units(4097), 2.0);
    }

    #[test]
    fn snapshots_subtract() {
        let m = Metrics::new();
        m.record_request("DynamoDB", "GetItem");
        let before = m.snapshot();
        m.record_request("DynamoDB", "GetItem");
        m.record_request("SQS", "SendMessage");
        m.add_write_units(3.0);
        let d = m.snapshot().since(&before);
        assert_eq!(d.count("DynamoDB", "GetItem"), 1);
        assert_eq!(d.count("SQS", "SendMessage"), 1);
        assert_eq!(d.service_total("DynamoDB"), 1);
        assert_eq!(d.write_units, 3.0);
    }
}
