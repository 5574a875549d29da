"""What the browser tests share: `waymark serve` on a free port over a fresh database, a boto3
client for it, and headless Chromium (Debian's chromium and chromium-driver, via selenium)."""
import os
import socket
import subprocess
import time

import boto3
from botocore.config import Config
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CREDS = dict(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """`waymark serve` in `folder`, its log in `folder/serve.log`; `url` and `sfn` reach it."""

    def __init__(self, waymark, folder):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(folder, "serve.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [waymark, "serve", "--port", str(self.port), "--db", os.path.join(folder, "w.db")],
            stdout=subprocess.DEVNULL, stderr=self.log, env=dict(os.environ, NO_COLOR="1"))
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    raise RuntimeError("waymark serve did not start")
                time.sleep(0.05)
        self.sfn = boto3.client("stepfunctions", endpoint_url=self.url,
                                config=Config(inject_host_prefix=False), **CREDS)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def chrome(folder, width, height):
    """Headless Chromium with its profile in `folder`."""
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={width},{height}",
                 f"--user-data-dir={os.path.join(folder, 'chrome')}"]:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
