//! `waymark run --aws-endpoint` against a moto server the test starts: a distributed Map that
//! reads its items from S3 (ItemReader) and exports its results there (ResultWriter), and a
//! workflow step that reads the export back, as users chain them.

use std::process::Command;

use serde_json::{json, Value};
use waymark_moto::Moto;

fn run(dir: &std::path::Path, endpoint: &str, def: &Value) -> Value {
    let path = dir.join("machine.asl.json");
    std::fs::write(&path, def.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args([
            "run",
            path.to_str().unwrap(),
            "--json",
            "--aws-endpoint",
            endpoint,
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("NO_COLOR", "1")
        .output()
        .expect("run waymark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn a_distributed_map_reads_from_and_writes_to_s3() {
    let moto = Moto::start();
    let dir = std::env::temp_dir().join(format!("waymark-aws-endpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = json!({"StartAt": "Bucket", "States": {
        "Bucket": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:createBucket",
            "Parameters": {"Bucket": "orders"}, "ResultPath": null, "Next": "Put"},
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": "orders", "Key": "in.jsonl",
                           "Body": "{\"id\":1,\"qty\":2}\n{\"id\":2,\"qty\":0}\n{\"id\":3,\"qty\":5}\n"},
            "ResultPath": null, "Next": "Each"},
        "Each": {"Type": "Map", "ResultPath": "$.export", "Next": "Read",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "orders", "Key": "in.jsonl"}},
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "ToleratedFailureCount": 1,
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "orders", "Prefix": "out/"},
                "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Check", "States": {
                    "Check": {"Type": "Choice", "Choices": [
                        {"Variable": "$.Items[0].id", "NumericEquals": 1, "Next": "Empty"}],
                        "Default": "Ids"},
                    "Empty": {"Type": "Fail", "Error": "Order.Empty", "Cause": "a batch with no quantity"},
                    "Ids": {"Type": "Pass", "OutputPath": "$.Items[*].id", "End": true}}}},
        "Read": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket.$": "$.export.ResultWriterDetails.Bucket",
                           "Key.$": "$.export.ResultWriterDetails.Key"},
            "ResultSelector": {"m.$": "States.StringToJson($.Body)"},
            "ResultPath": "$.manifest", "Next": "Failed"},
        "Failed": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "orders", "Key.$": "$.manifest.m.ResultFiles.FAILED[0].Key"},
            "ResultSelector": {"records.$": "States.StringToJson($.Body)"},
            "ResultPath": "$.failed", "Next": "Succeeded"},
        "Succeeded": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "orders", "Key.$": "$.manifest.m.ResultFiles.SUCCEEDED[0].Key"},
            "ResultSelector": {"ids.$": "States.StringToJson($.Body)"},
            "ResultPath": "$.succeeded", "End": true}
    }});
    let out = run(&dir, &moto.endpoint, &def);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let o = &out["output"];
    let key = o["export"]["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(
        key.starts_with("out/") && !key.starts_with("out//"),
        "{key}"
    );
    assert!(key.ends_with("/manifest.json"), "{key}");
    // Batches [1,2] (failed: it starts with order 1; tolerated) and [3]: FLATTEN splices the ids of the one
    // that succeeded; the failed batch keeps its whole record.
    assert_eq!(o["succeeded"]["ids"], json!([3]), "{o}");
    let failed = &o["failed"]["records"][0];
    assert_eq!(failed["Error"], "Order.Empty");
    assert_eq!(failed["Status"], "FAILED");
    let input: Value = serde_json::from_str(failed["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input["Items"][0]["id"], 1);
    assert_eq!(o["manifest"]["m"]["ResultFiles"]["PENDING"], json!([]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn item_readers_read_s3_inventories_and_documents_by_pointer() {
    use std::io::Write;
    let moto = Moto::start();
    let dir = std::env::temp_dir().join(format!("waymark-inventory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let e = &moto.endpoint;
    moto.put_s3("inventory", "", b"");
    // An S3 inventory as Amazon S3 writes it: a manifest naming gzipped CSV files, no header.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        b"\"photos\",\"a.jpg\",\"10\"\n\"photos\",\"b.jpg\",\"20\"\n\"photos\",\"c.jpg\",\"30\"\n",
    )
    .unwrap();
    moto.put_s3(
        "inventory",
        "photos/daily/data/part-0.csv.gz",
        &gz.finish().unwrap(),
    );
    let manifest = json!({"sourceBucket": "photos", "destinationBucket": "arn:aws:s3:::inventory",
        "version": "2016-11-30", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "photos/daily/data/part-0.csv.gz", "size": 60, "MD5checksum": "x"}]});
    moto.put_s3(
        "inventory",
        "photos/daily/manifest.json",
        manifest.to_string().as_bytes(),
    );
    moto.put_s3(
        "inventory",
        "doc.json",
        br#"{"data": {"items": [{"n": 1}, {"n": 2}]}, "next": null}"#,
    );
    let processor = |name: &str, field: &str| {
        json!({"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": name, "States": {name: {"Type": "Pass", "OutputPath": field, "End": true}}})
    };
    let def = json!({"StartAt": "Objects", "States": {
        "Objects": {"Type": "Map", "ResultPath": "$.keys", "Next": "Document",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "MANIFEST", "ManifestType": "S3_INVENTORY", "MaxItems": 2},
                "Parameters": {"Bucket": "inventory", "Key": "photos/daily/manifest.json"}},
            "ItemProcessor": processor("Key", "$.Key")},
        "Document": {"Type": "Map", "ResultPath": "$.numbers", "End": true,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "ItemsPointer": "/data/items"},
                "Parameters": {"Bucket": "inventory", "Key": "doc.json"}},
            "ItemProcessor": processor("N", "$.n")}
    }});
    let out = run(&dir, e, &def);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["keys"], json!(["a.jpg", "b.jpg"]), "{out}");
    assert_eq!(out["output"]["numbers"], json!([1, 2]), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An export past a part's size (8 MiB) goes to S3 as a multipart upload that S3 assembles
/// into the one file the manifest lists, with its size: 48 children of 200 KB each.
#[test]
fn an_export_larger_than_a_part_is_uploaded_in_parts() {
    let moto = Moto::start();
    let dir = std::env::temp_dir().join(format!("waymark-big-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    moto.put_s3("big", "", b"");
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Each", "States": {
        "Each": {"Type": "Map", "Items": "{% [1..48] %}", "End": true,
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Arguments": {"Bucket": "big", "Prefix": "runs"},
                "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSON"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Pad", "States": {
                    "Pad": {"Type": "Pass", "End": true,
                        "Output": "{% {'i': $states.input, 'pad': $pad('', 200000, 'x')} %}"}}}}
    }});
    let out = run(&dir, &moto.endpoint, &def);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let key = out["output"]["ResultWriterDetails"]["Key"]
        .as_str()
        .unwrap();
    let manifest: Value = serde_json::from_slice(&moto.get_s3("big", key)).unwrap();
    let files = manifest["ResultFiles"]["SUCCEEDED"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{manifest}");
    let body = moto.get_s3("big", files[0]["Key"].as_str().unwrap());
    assert!(body.len() > 8 * 1024 * 1024, "{} bytes", body.len());
    assert_eq!(files[0]["Size"], json!(body.len()));
    let outputs: Vec<Value> = serde_json::from_slice(&body).expect("one JSON array");
    let ids: Vec<i64> = outputs.iter().map(|o| o["i"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=48).collect::<Vec<_>>());
    assert_eq!(outputs[47]["pad"].as_str().unwrap().len(), 200_000);
    let _ = std::fs::remove_dir_all(&dir);
}
