#!/usr/bin/env python3
"""The console in a real browser: `waymark serve` serves it, headless Chromium opens it, finds a
state machine with a Choice, a Parallel (one branch waits two seconds), a distributed Map and a
callback task, starts it from the page with an input typed into the editor, watches the live view
colour the states as they run, answers the waiting callback from the state panel with the
token the console found, and checks a state's input and output. Screenshots are saved under
target/console/.

Usage: python3 tests/console/test_browser.py [path/to/waymark]
Needs Debian's chromium and chromium-driver, and the selenium package.
"""
import json
import os
import sys
import tempfile
import time
import unittest

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from browserkit import ROOT, Serve, chrome  # noqa: E402

WAYMARK = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/waymark"))
ARTIFACTS = os.path.join(ROOT, "target", "console")

DEFINITION = {
    "Comment": "Orders: checked, prepared in parallel (a two-second wait beside a distributed Map over the items), then confirmed by a person.",
    "StartAt": "CheckOrder",
    "States": {
        "CheckOrder": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.items[0]", "IsPresent": True, "Next": "Prepare"}],
            "Default": "Empty",
        },
        "Empty": {"Type": "Fail", "Error": "EmptyOrder", "Cause": "the order has no items"},
        "Prepare": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Settle", "States": {
                    "Settle": {"Type": "Wait", "Seconds": 2, "Next": "Settled"},
                    "Settled": {"Type": "Pass", "Result": "settled", "End": True}}},
                {"StartAt": "PriceItems", "States": {
                    "PriceItems": {
                        "Type": "Map", "ItemsPath": "$.items",
                        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                          "StartAt": "Price", "States": {
                            "Price": {"Type": "Pass",
                                      "Parameters": {"sku.$": "$", "cents.$": "States.MathAdd($, 100)"},
                                      "End": True}}},
                        "End": True}}},
            ],
            "ResultPath": "$.prepared",
            "Next": "Confirm",
        },
        "Confirm": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
                "Message.$": "$$.Task.Token",
                "MessageAttributes": {"review": {"DataType": "String", "StringValue.$": "$$.Task.Approval.Url"}},
            },
            "TimeoutSeconds": 300,
            "ResultPath": "$.confirmation",
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "Parameters": {"prepared.$": "$.prepared", "confirmation.$": "$.confirmation"}, "End": True},
    },
}



class ConsoleInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.serve = Serve(WAYMARK, cls.tmp.name)
        cls.url, cls.sfn = cls.serve.url, cls.serve.sfn
        cls.machine = cls.sfn.create_state_machine(
            name="orders", definition=json.dumps(DEFINITION),
            roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
        cls.version = cls.sfn.publish_state_machine_version(stateMachineArn=cls.machine)["stateMachineVersionArn"]
        cls.browser = chrome(cls.tmp.name, 1400, 1250)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.serve.stop()
        cls.tmp.cleanup()

    def until(self, what, timeout=15):
        """Waits for `what(browser)` to be truthy; elements replaced by a redraw of the live view
        are read again."""
        return WebDriverWait(self.browser, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(what)

    def node_status(self, state):
        """The status class of a state's node in the graph (wm-st-…)."""
        el = self.browser.find_element(By.CSS_SELECTOR, f'g[data-state="{state}"]')
        return [c[6:] for c in el.get_attribute("class").split() if c.startswith("wm-st-")][0]

    def click_node(self, state):
        def click(b):
            # Its label: the middle of a Map or Parallel box is one of the states inside.
            b.find_element(By.CSS_SELECTOR, f'g[data-state="{state}"] > text').click()
            return b.find_element(By.CSS_SELECTOR, "#state h3").text.startswith(state)
        self.until(click)

    def click(self, element_id, timeout=15):
        """Clicks a button of the live view. A redraw can replace it between finding and clicking
        it; the click then raised (stale element) and did not happen, so it is found again."""
        def click(b):
            b.find_element(By.ID, element_id).click()
            return True
        self.until(click, timeout)

    def shot(self, name):
        self.browser.execute_script("window.scrollTo(0, 0)")
        self.browser.save_screenshot(os.path.join(ARTIFACTS, name))

    def text(self, css):
        return self.browser.find_element(By.CSS_SELECTOR, css).text

    def test_a_run_seen_live_and_answered_from_the_console(self):
        b = self.browser
        b.get(self.url + "/")
        self.until(lambda b: b.find_element(By.LINK_TEXT, "orders"))
        self.assertIn("Waymark console", b.title)
        b.find_element(By.LINK_TEXT, "orders").click()

        # The machine's graph: every state drawn, the Choice's rule on its edge.
        self.until(lambda b: b.find_elements(By.CSS_SELECTOR, 'g[data-state="Confirm"]'))
        drawn = {e.get_attribute("data-state") for e in b.find_elements(By.CSS_SELECTOR, "g.wm-node, g.wm-cluster")}
        self.assertTrue({"CheckOrder", "Empty", "Prepare", "Settle", "Settled", "PriceItems", "Price", "Confirm", "Done"} <= drawn, drawn)
        labels = [e.text for e in b.find_elements(By.CSS_SELECTOR, ".wm-edge-label")]
        self.assertTrue(any("IsPresent" in l for l in labels), labels)
        self.assertGreaterEqual(len(b.find_elements(By.CSS_SELECTOR, "g.wm-cluster")), 3)  # Parallel, its branches, the Map
        self.assertIn(self.version, b.page_source)
        self.shot("console-machine.png")

        # Start it from the page with an input typed into the editor.
        editor = b.find_element(By.ID, "start-input")
        editor.clear()
        editor.send_keys(json.dumps({"items": [1, 2, 3]}))
        b.find_element(By.ID, "start-name").send_keys("order-42")
        b.find_element(By.ID, "start").click()
        self.until(lambda b: "order-42" in b.find_element(By.TAG_NAME, "h1").text)

        # Live: the wait in the Parallel is seen running while the Map beside it has finished
        # (a distributed Map's iterations are its map run's, not in the execution's history).
        self.until(lambda b: self.node_status("Settle") == "running")
        self.until(lambda b: self.node_status("PriceItems") == "succeeded")
        self.assertEqual(self.node_status("Price"), "notrun")
        self.assertEqual(self.node_status("CheckOrder"), "succeeded")
        self.assertEqual(self.node_status("Empty"), "notrun")
        self.assertEqual(self.node_status("Confirm"), "notrun")
        self.assertEqual(self.text("#execution-status"), "RUNNING")
        self.shot("console-running.png")

        # Then the callback waits; its panel has the token the task was scheduled with.
        self.until(lambda b: self.node_status("Confirm") == "running", timeout=20)
        self.assertEqual(self.node_status("Settle"), "succeeded")
        self.click_node("Confirm")
        token = self.until(lambda b: b.find_element(By.ID, "task-token").get_attribute("value"))
        events = self.sfn.get_execution_history(
            executionArn=self.sfn.list_executions(stateMachineArn=self.machine)["executions"][0]["executionArn"])["events"]
        scheduled = [e for e in events if e["type"] == "TaskScheduled"][-1]
        self.assertEqual(json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["Message"], token)
        links = b.find_elements(By.CSS_SELECTOR, "#approval-links a")
        self.assertEqual([a.text for a in links], ["review", "approve", "reject"])
        self.assertIn("/approvals/", links[0].get_attribute("href"))
        # Typing survives the live view's redraws.
        out = b.find_element(By.ID, "task-output")
        out.clear()
        out.send_keys('{"confirmedBy": "Grace"}')
        time.sleep(1.5)
        self.assertEqual(b.find_element(By.ID, "task-output").get_attribute("value"), '{"confirmedBy": "Grace"}')
        self.shot("console-callback.png")
        self.click("send-success")

        # The end: everything coloured, a state's input and output in its panel, the history.
        self.until(lambda b: self.text("#execution-status") == "SUCCEEDED", timeout=20)
        self.until(lambda b: self.node_status("Done") == "succeeded")
        for state in ["CheckOrder", "Prepare", "Settle", "Settled", "PriceItems", "Confirm"]:
            self.assertEqual(self.node_status(state), "succeeded", state)
        self.assertEqual(self.node_status("Empty"), "notrun")
        self.click_node("Done")
        shown_in = json.loads(self.text("#state-input"))
        shown_out = json.loads(self.text("#state-output"))
        self.assertEqual(shown_in["items"], [1, 2, 3])
        self.assertEqual(shown_out, {
            "prepared": ["settled", [{"sku": 1, "cents": 101}, {"sku": 2, "cents": 102}, {"sku": 3, "cents": 103}]],
            "confirmation": {"confirmedBy": "Grace"}})
        self.click_node("PriceItems")
        self.assertEqual(json.loads(self.text("#state-output")), shown_out["prepared"][1])
        # The distributed Map's map run, with its counts.
        cells = [td.text for td in b.find_elements(By.CSS_SELECTOR, "#map-runs tr:nth-child(2) td")]
        self.assertEqual(cells[1:6], ["SUCCEEDED", "3", "3", "0", "0"], cells)
        kinds = [row.find_elements(By.TAG_NAME, "td")[1].text
                 for row in b.find_elements(By.CSS_SELECTOR, "#history tr")[1:]]
        self.assertEqual(kinds[0], "ExecutionStarted")
        self.assertEqual(kinds[-1], "ExecutionSucceeded")
        self.assertIn("TaskSucceeded", kinds)
        self.shot("console-succeeded.png")

    def test_a_failed_run_is_red_and_a_stopped_one_redriven(self):
        b = self.browser
        arn = self.sfn.start_execution(stateMachineArn=self.machine, name="empty-order",
                                       input=json.dumps({"items": []}))["executionArn"]
        b.get(self.url + "/#/execution/" + arn.replace(":", "%3A"))
        self.until(lambda b: self.text("#execution-status") == "FAILED")
        self.until(lambda b: self.node_status("Empty") == "failed")
        self.assertEqual(self.node_status("Prepare"), "notrun")
        self.click_node("Empty")
        self.assertIn("EmptyOrder", self.text("#state-error"))
        self.assertTrue(b.find_elements(By.ID, "redrive"))
        self.assertFalse(b.find_elements(By.ID, "stop"))
        self.shot("console-failed.png")
        # Stop a waiting execution from its page, then redrive it: it waits in the same state again.
        arn = self.sfn.start_execution(stateMachineArn=self.machine, name="stopped-order",
                                       input=json.dumps({"items": [5]}))["executionArn"]
        b.get(self.url + "/#/execution/" + arn.replace(":", "%3A"))
        self.until(lambda b: self.node_status("Confirm") == "running", timeout=20)
        self.click("stop")
        self.until(lambda b: self.text("#execution-status") == "ABORTED")
        self.assertEqual(self.sfn.describe_execution(executionArn=arn)["status"], "ABORTED")
        self.click("redrive")
        self.until(lambda b: self.text("#execution-status") == "RUNNING")
        self.until(lambda b: self.node_status("Confirm") == "running")
        d = self.sfn.describe_execution(executionArn=arn)
        self.assertEqual((d["status"], d["redriveCount"]), ("RUNNING", 1))
        self.sfn.stop_execution(executionArn=arn)
        # The status filter lists it among the failed ones only.
        b.get(self.url + "/#/machine/" + self.machine.replace(":", "%3A"))
        self.until(lambda b: b.find_element(By.ID, "status-filter"))
        Select(b.find_element(By.ID, "status-filter")).select_by_value("FAILED")
        self.until(lambda b: [r.text for r in b.find_elements(By.CSS_SELECTOR, "#executions td:first-child")] == ["empty-order"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
