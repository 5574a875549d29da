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
import sys
import tempfile
import time
import unittest

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from browserkit import ROOT, Serve, chrome  # noqa: E402

WAYMARK = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/waymark"))
ARTIFACTS = os.path.join(ROOT, "target", "approval")


class ApprovalInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.serve = Serve(WAYMARK, cls.tmp.name)
        cls.url, cls.sfn = cls.serve.url, cls.serve.sfn
        with open(os.path.join(ROOT, "examples/approval/expense.asl.json")) as f:
            cls.machine = cls.sfn.create_state_machine(
                name="expenses", definition=f.read(), roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
        cls.browser = chrome(cls.tmp.name, 1000, 1100)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.serve.stop()
        cls.tmp.cleanup()

    def link_for(self, execution_arn):
        """The approval link from the message the server printed for this execution."""
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.serve.log_path) as f:
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
