"""Publish the AWS/SQS queue-depth metrics that the program's alarms watch.

On AWS, SQS reports `ApproximateNumberOfMessagesVisible` and friends to CloudWatch every minute; MiniStack
keeps CloudWatch alarms and metrics but publishes no SQS metric, so a "DLQ not empty" alarm would never
see anything. This samples each watched queue's attributes and puts the same metric, with the same
dimensions, so the alarms (and `get_metric_statistics`) behave as on AWS — only more often.

MiniStack evaluates an alarm over every series of its metric name, whatever their dimensions, so one
non-empty DLQ would also raise the alarm of another, empty one. After each sample the alarms watched here
are set to the state their own queue gives them; this is the one place that works around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from localcloud.deploy import Deployment
from localcloud.periodic import Periodic

_BREACHES = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
# CloudWatch metric -> the queue attribute it reports.
_QUEUE_METRICS = {
    "ApproximateNumberOfMessagesVisible": "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed": "ApproximateNumberOfMessagesDelayed",
}


@dataclass(frozen=True)
class _Watched:
    alarm: str
    metric: str
    queue: str
    url: str
    threshold: float
    comparison: str


class QueueMetrics(Periodic):
    """Samples the queues named by AWS/SQS alarms of the graph; `publish()` once, or `start()` a thread."""

    def __init__(self, deployment: Deployment, interval: float = 2.0) -> None:
        super().__init__("queue-metrics", interval)
        self.cloudwatch = deployment.client("cloudwatch")
        self.sqs = deployment.client("sqs")
        queue_urls = {
            str(deployment.outputs[q.urn]["name"]): str(deployment.outputs[q.urn]["url"])
            for q in deployment.resources("aws:sqs/queue:Queue")
        }
        self.watched: list[_Watched] = []
        for alarm in deployment.resources("aws:cloudwatch/metricAlarm:MetricAlarm"):
            outputs = deployment.outputs[alarm.urn]
            queue = str((outputs.get("dimensions") or {}).get("QueueName"))
            metric = str(outputs.get("metricName"))
            if outputs.get("namespace") == "AWS/SQS" and metric in _QUEUE_METRICS and queue in queue_urls:
                self.watched.append(
                    _Watched(
                        alarm=str(outputs["name"]),
                        metric=metric,
                        queue=queue,
                        url=queue_urls[queue],
                        threshold=float(outputs.get("threshold") or 0),
                        comparison=str(outputs.get("comparisonOperator")),
                    )
                )

    def publish(self) -> None:
        values = {}
        for w in self.watched:
            attribute = _QUEUE_METRICS[w.metric]
            attributes = self.sqs.get_queue_attributes(QueueUrl=w.url, AttributeNames=[attribute])["Attributes"]
            values[w] = float(attributes[attribute])
        if not values:
            return
        self.cloudwatch.put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[
                {
                    "MetricName": w.metric,
                    "Dimensions": [{"Name": "QueueName", "Value": w.queue}],
                    "Value": v,
                    "Unit": "Count",
                }
                for w, v in values.items()
            ],
        )
        states = {
            a["AlarmName"]: a["StateValue"]
            for a in self.cloudwatch.describe_alarms(AlarmNames=[w.alarm for w in values])["MetricAlarms"]
        }
        for w, value in values.items():
            breaching = _BREACHES.get(w.comparison, lambda v, t: False)(value, w.threshold)
            state = "ALARM" if breaching else "OK"
            if states.get(w.alarm) != state:
                self.cloudwatch.set_alarm_state(
                    AlarmName=w.alarm,
                    StateValue=state,
                    StateReason=f"{w.metric} of {w.queue} is {value:g} ({w.comparison} {w.threshold:g}: {breaching})",
                )

    def tick(self) -> None:
        self.publish()

    def failed(self, error: Exception) -> None:
        pass  # the emulator is busy: the next tick samples again
