"""Publish the AWS/SQS queue-depth metrics that the program's alarms watch.

On AWS, SQS reports `ApproximateNumberOfMessagesVisible` and friends to CloudWatch every minute; MiniStack
keeps CloudWatch alarms and metrics but publishes no SQS metric, so a "DLQ not empty" alarm would never
see anything. This samples each watched queue's attributes and puts the same metric, with the same
dimensions, so the alarms (and `get_metric_statistics`) behave as on AWS — only more often.
"""

from __future__ import annotations

import threading
from typing import Any

from localcloud.deploy import Deployment

# CloudWatch metric -> the queue attribute it reports.
_QUEUE_METRICS = {
    "ApproximateNumberOfMessagesVisible": "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed": "ApproximateNumberOfMessagesDelayed",
}


class QueueMetrics:
    """Samples the queues named by AWS/SQS alarms of the graph; `publish()` once, or `start()` a thread."""

    def __init__(self, deployment: Deployment, interval: float = 2.0) -> None:
        self.cloudwatch = deployment.client("cloudwatch")
        self.sqs = deployment.client("sqs")
        self.interval = interval
        queue_urls = {
            str(deployment.outputs[q.urn]["name"]): str(deployment.outputs[q.urn]["url"])
            for q in deployment.resources("aws:sqs/queue:Queue")
        }
        self.watched: list[tuple[str, str, str]] = []  # (metric, queue name, queue URL)
        for alarm in deployment.resources("aws:cloudwatch/metricAlarm:MetricAlarm"):
            outputs = deployment.outputs[alarm.urn]
            queue = (outputs.get("dimensions") or {}).get("QueueName")
            metric = outputs.get("metricName")
            if outputs.get("namespace") == "AWS/SQS" and metric in _QUEUE_METRICS and queue in queue_urls:
                self.watched.append((str(metric), str(queue), queue_urls[str(queue)]))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-metrics", daemon=True)

    def publish(self) -> None:
        data: list[dict[str, Any]] = []
        for metric, queue, url in self.watched:
            attribute = _QUEUE_METRICS[metric]
            value = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"][attribute]
            data.append(
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "QueueName", "Value": queue}],
                    "Value": float(value),
                    "Unit": "Count",
                }
            )
        if data:
            self.cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=data)

    def start(self) -> QueueMetrics:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.publish()
            except Exception:  # the emulator is stopping, or busy: the next tick samples again
                if self._stop.is_set():
                    return
