#!/usr/bin/env python3
"""Regenerates the vendored AWS API models of waymark-sdk from botocore's data files.

    python3 shared/sdk/models/update.py [--botocore VERSION] [SERVICE ...]

Downloads the botocore wheel (PyPI, Apache-2.0) with pip, takes each named service's newest
`botocore/data/<service>/<version>/service-2.json`, drops what a caller never reads (the
documentation strings, examples, deprecation notes), minifies and gzips it to
`models/<service>.json.gz`, copies botocore's LICENSE and NOTICE beside them, and writes
`src/generated.rs`: one row per service with its Step Functions name (the lowercased Java SDK v2
client name, as in `arn:aws:states:::aws-sdk:dynamodb:putItem`), its error prefix (the PascalCase
client name, as in `DynamoDb.ResourceNotFoundException`) and the compressed model.

With no SERVICE, regenerates the services listed in the current `src/generated.rs`.
"""

import argparse
import glob
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)
GENERATED = os.path.join(CRATE, "src", "generated.rs")
DEFAULT_VERSION = "1.43.11"

# Model keys no request or response needs.
DROP = {"documentation", "documentationUrl", "examples", "deprecatedMessage", "deprecatedSince"}


# Java SDK v2 clients whose name is not the serviceId's (`Config Service` is `ConfigClient`,
# and Step Functions calls it `aws-sdk:config:ACTION`).
PREFIX_OVERRIDES = {"config": "Config"}


def pascal_case(service_id):
    """The Java SDK v2's client naming (`Utils.pascalCase`): `DynamoDB` -> `DynamoDb`,
    `ACM PCA` -> `AcmPca`, `EC2` -> `Ec2`, `Bedrock Runtime` -> `BedrockRuntime`."""
    s = re.sub(r"[^A-Za-z0-9]+", " ", service_id)
    s = re.sub(r"([^a-z]{2,})v([0-9]+)", r"\1 v\2 ", s)
    s = re.sub(r"([^A-Z]{2,})V([0-9]+)", r"\1 V\2 ", s)
    s = " ".join(re.split(r"(?<=[a-z])(?=[A-Z]([a-zA-Z]|[0-9]))", s)[::2])
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    s = re.sub(r"([0-9])([a-zA-Z])", r"\1 \2", s)
    words = re.sub(" +", " ", s).strip().split(" ")
    return "".join(w[:1].upper() + w[1:].lower() for w in words if w)


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in DROP}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def load(wheel, service):
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if re.fullmatch(
            rf"botocore/data/{re.escape(service)}/[^/]+/service-2\.json(\.gz)?", n)]
        if not names:
            sys.exit(f"botocore has no model for service {service!r}")
        name = sorted(names)[-1]  # the newest API version
        data = z.read(name)
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        return json.loads(data)


def current_services():
    if not os.path.exists(GENERATED):
        return []
    return re.findall(r'botocore: "([^"]+)"', open(GENERATED).read())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--botocore", default=DEFAULT_VERSION, help="botocore version to vendor")
    p.add_argument("services", nargs="*")
    args = p.parse_args()
    services = sorted(set(args.services or current_services()))
    if not services:
        sys.exit("name the botocore services to vendor")

    tmp = tempfile.mkdtemp()
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        f"botocore=={args.botocore}", "-d", tmp], check=True)
        wheel = glob.glob(os.path.join(tmp, "botocore-*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            for n in z.namelist():
                base = os.path.basename(n)
                if n.count("/") == 1 and n.split("/")[0].endswith(".dist-info") and base in ("LICENSE.txt", "NOTICE"):
                    with open(os.path.join(HERE, "botocore-" + base.replace(".txt", "")), "wb") as f:
                        f.write(z.read(n))

        for old in glob.glob(os.path.join(HERE, "*.json.gz")):
            os.remove(old)
        rows = []
        total = 0
        for service in services:
            model = strip(load(wheel, service))
            meta = model["metadata"]
            prefix = PREFIX_OVERRIDES.get(service) or pascal_case(meta["serviceId"])
            # Key order is kept: XML bodies write members in model order.
            raw = json.dumps(model, separators=(",", ":")).encode()
            buf = io.BytesIO()
            # mtime 0: the same model gives the same bytes.
            with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as g:
                g.write(raw)
            packed = buf.getvalue()
            with open(os.path.join(HERE, service + ".json.gz"), "wb") as f:
                f.write(packed)
            total += len(packed)
            rows.append((prefix.lower(), prefix, service, len(raw), len(packed)))
            print(f"{service:24} {prefix:28} {meta['protocol']:10} {len(raw):>9} -> {len(packed):>7} bytes")
        print(f"total compressed: {total} bytes")

        rows.sort()
        with open(GENERATED, "w") as f:
            f.write("// @generated by models/update.py from botocore " + args.botocore + ": do not edit.\n")
            f.write("//! The vendored models: Step Functions' service name, the error prefix, botocore's name.\n\n")
            f.write("use crate::model::Vendored;\n\n")
            f.write(f'pub(crate) const BOTOCORE_VERSION: &str = "{args.botocore}";\n\n')
            f.write("pub(crate) static MODELS: &[Vendored] = &[\n")
            for sfn, prefix, service, raw, packed in rows:
                f.write("    Vendored {\n")
                f.write(f'        sfn: "{sfn}",\n')
                f.write(f'        prefix: "{prefix}",\n')
                f.write(f'        botocore: "{service}",\n')
                f.write(f'        gz: include_bytes!("../models/{service}.json.gz"),\n')
                f.write("    },\n")
            f.write("];\n")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
