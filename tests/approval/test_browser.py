#!/usr/bin/env python3
"""Human approval in a real browser: `waymark serve` runs the expense example, the approval
link is read from the published message (printed by the server, as SNS has no endpoint here),
headless Chromium opens it, fills in the form and clicks Approve, and the execution succeeds.
A screenshot of the page is saved as a test artifact (target/approval/*.png).

Usage: python3 tests/approval/test_browser.py [path/to/waymark]
Needs Debian's chromium and chromium-driver, and the selenium package.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import boto3
from botocore.config import Config
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WAYMARK = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/waymark"))
ARTIFACTS = os.path.join(ROOT, "target", "approval")
CREDS = dict(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApprovalInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.port = free_port()
        cls.url = f"http://127.0.0.1:{cls.port}"
        cls.log_path = os.path.join(cls.tmp.name, "serve.log")
        cls.log = open(cls.log_path, "w")
        cls.server = subprocess.Popen(
            [WAYMARK, "serve", "--port", str(cls.port), "--db", os.path.join(cls.tmp.name, "w.db")],
            stdout=subprocess.DEVNULL, stderr=cls.log, env=dict(os.environ, NO_COLOR="1"))
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or cls.server.poll() is not None:
                    raise RuntimeError("waymark serve did not start")
                time.sleep(0.05)
        cls.sfn = boto3.client("stepfunctions", endpoint_url=cls.url, config=Config(inject_host_prefix=False), **CREDS)
        with open(os.path.join(ROOT, "examples/approval/expense.asl.json")) as f:
            cls.machine = cls.sfn.create_state_machine(
                name="expenses", definition=f.read(), roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
        options = webdriver.ChromeOptions()
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1000,1100",
                     f"--user-data-dir={os.path.join(cls.tmp.name, 'chrome')}"]:
            options.add_argument(flag)
        options.binary_location = "/usr/bin/chromium"
        cls.browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls.log.close()
        cls.tmp.cleanup()

    def link_for(self, execution_arn):
        """The approval link from the message the server printed for this execution."""
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log_path) as f:
                log = f.read()
            for line in log.splitlines():
                if "approval requested" in line and execution_arn in line:
                    return re.search(r'(http://[^\s"]+/approvals/[^\s"]+)', line).group(1)
            time.sleep(0.05)
        self.fail(f"no approval link for {execution_arn} in the log:\n{log}")

    def wait_for_heading(self, text):
        """The click navigates: wait for the next page rather than read the old one. An element
        read while the page is being replaced is read again (Chrome then answers with a stale or
        detached node)."""
        WebDriverWait(self.browser, 10, ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(
            EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), text))

    def start(self, amount):
        ex = self.sfn.start_execution(stateMachineArn=self.machine, input=json.dumps(
            {"employee": "Ada", "amount": amount, "reason": "conference trip to Lisbon"}))
        return ex["executionArn"]

    def wait_done(self, arn):
        deadline = time.time() + 15
        while True:
            d = self.sfn.describe_execution(executionArn=arn)
            if d["status"] != "RUNNING" or time.time() > deadline:
                return d
            time.sleep(0.05)

    def test_approve_in_the_browser(self):
        arn = self.start(1250)
        link = self.link_for(arn)
        self.assertNotIn("Token", link)
        self.browser.get(link)
        self.assertIn("Approval requested", self.browser.page_source)
        self.assertIn("conference trip to Lisbon", self.browser.page_source)
        # Opening the page decided nothing.
        self.assertEqual(self.sfn.describe_execution(executionArn=arn)["status"], "RUNNING")
        self.browser.find_element(By.ID, "approver").send_keys("Grace (manager)")
        self.browser.find_element(By.ID, "comment").send_keys("Enjoy the conference")
        self.browser.save_screenshot(os.path.join(ARTIFACTS, "approval-page.png"))
        self.browser.find_element(By.CSS_SELECTOR, "button.approve").click()
        self.wait_for_heading("Approved")
        self.browser.save_screenshot(os.path.join(ARTIFACTS, "approval-done.png"))
        d = self.wait_done(arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]),
                         {"employee": "Ada", "amount": 1250, "status": "REIMBURSED", "approvedBy": "Grace (manager)"})
        events = self.sfn.get_execution_history(executionArn=arn)["events"]
        done = [e for e in events if e["type"] == "TaskSucceeded"][0]
        self.assertEqual(json.loads(done["taskSucceededEventDetails"]["output"])["comment"], "Enjoy the conference")
        # A second visit says it was decided already.
        self.browser.get(link)
        self.assertIn("Already decided", self.browser.page_source)

    def test_reject_and_tampered_links(self):
        arn = self.start(900)
        link = self.link_for(arn)
        self.browser.get(link.replace("sig=", "sig=ff"))
        self.assertIn("This link is not valid", self.browser.page_source)
        self.browser.get(link + "&action=reject")
        self.browser.find_element(By.ID, "comment").send_keys("Over budget")
        self.browser.find_element(By.CSS_SELECTOR, "button.reject").click()
        self.wait_for_heading("Rejected")
        d = self.wait_done(arn)
        self.assertEqual((d["status"], d["error"]), ("FAILED", "ExpenseRejected"))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
