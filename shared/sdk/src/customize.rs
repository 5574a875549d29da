//! The few per-service behaviours of the SDKs that no model states.

use serde_json::Value;

const ROUTE53_PREFIXES: [&str; 3] = ["/hostedzone/", "/change/", "/delegationset/"];
const ROUTE53_ID_FIELDS: [&str; 3] = ["Id", "HostedZoneId", "DelegationSetId"];

fn strip_route53_id(v: &mut Value) {
    if let Value::String(s) = v {
        if let Some(rest) = ROUTE53_PREFIXES.iter().find_map(|p| s.strip_prefix(p)) {
            *s = rest.to_string();
        }
    }
}

/// Route 53 returns IDs with a resource path (`/hostedzone/Z1`) that it refuses as input; the
/// SDKs strip it from what it returns (the Java SDK's `Route53IdInterceptor`) and from what is
/// sent (botocore), so `createHostedZone`'s `HostedZone.Id` can be passed on as is.
pub(crate) fn input(endpoint_prefix: &str, params: &mut Value) {
    if endpoint_prefix != "route53" {
        return;
    }
    if let Value::Object(map) = params {
        for field in ROUTE53_ID_FIELDS {
            if let Some(v) = map.get_mut(field) {
                strip_route53_id(v);
            }
        }
    }
}

pub(crate) fn output(endpoint_prefix: &str, out: &mut Value) {
    if endpoint_prefix != "route53" {
        return;
    }
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if ROUTE53_ID_FIELDS.contains(&k.as_str()) {
                        strip_route53_id(child);
                    } else {
                        walk(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn route53_ids_lose_their_resource_paths() {
        let mut out = json!({"HostedZone": {"Id": "/hostedzone/Z1", "Name": "a."},
                             "ChangeInfo": {"Id": "/change/C1"}, "Location": "/hostedzone/Z1"});
        output("route53", &mut out);
        assert_eq!(
            out,
            json!({"HostedZone": {"Id": "Z1", "Name": "a."}, "ChangeInfo": {"Id": "C1"},
                   "Location": "/hostedzone/Z1"})
        );
        let mut params = json!({"HostedZoneId": "/hostedzone/Z1"});
        input("route53", &mut params);
        assert_eq!(params, json!({"HostedZoneId": "Z1"}));
        let mut other = json!({"Id": "/hostedzone/Z1"});
        output("s3", &mut other);
        assert_eq!(other["Id"], "/hostedzone/Z1");
    }
}
