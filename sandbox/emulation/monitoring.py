"""What the maintenance checklists read and moto lacks: CloudWatch alarm actions and SNS's
delivery metrics, percentiles, ECR's scan on push, RDS's pending maintenance."""

from __future__ import annotations

import json
import math
from typing import Any

EXTENSIONS = {
    "alarm actions": "a state change by SetAlarmState publishes to the alarm's SNS topics of the new state (AlarmActions, OKActions): "
    "'When the updated state differs from the previous value, the action configured for the appropriate state is invoked' "
    "(CloudWatch API reference, SetAlarmState); moto changed the state and told no one",
    "SNS metrics": "each such publish records NumberOfMessagesPublished for the topic, and NumberOfNotificationsDelivered for each "
    "confirmed subscription: a protocol that needs no confirmation (SQS, Lambda, Firehose, SMS, mobile push), or an e-mail or "
    "HTTP(S) one once confirmed (SNS developer guide, 'Monitoring Amazon SNS topics using CloudWatch', and 'Confirm your "
    "subscription'); nothing is delivered for real, so NumberOfNotificationsFailed stays 0, where AWS could fail",
    "SNS subscription confirmation": "an e-mail or HTTP(S) subscription is listed with SubscriptionArn 'PendingConfirmation' until "
    "ConfirmSubscription (SNS API reference, ListSubscriptionsByTopic and ConfirmSubscription); moto listed them confirmed. The "
    "token AWS puts in its confirmation message is, here, the endpoint itself (the e-mail address): a stand-in for the person "
    "who opens the message; AWS Chatbot, which confirms its own HTTPS subscription, is not modelled, so its subscription stays "
    "pending (stricter)",
    "scan on push": "an image pushed to a repository with ScanOnPush gets its scan at once; its findings are moto's static "
    "answer, or what a sandbox stand-in sets through moto's API: no image is scanned here (ECR user guide, 'Scan images on push')",
    "DescribePendingMaintenanceActions": "answers none pending (moto lacks the call; RDS API reference): kinder than AWS, where an engine "
    "patch or an OS update can be due; the weekly checklist only lists them, it never fails on one",
    "percentiles": "GetMetricStatistics answers ExtendedStatistics (p95, ...) from the raw values put in each period, the nearest-rank "
    "percentile (CloudWatch user guide, 'Percentiles': computed from the values in the period); moto answered none",
}


# SNS protocols whose subscriptions need no confirmation by the endpoint.
_CONFIRMED_AT_ONCE = {"sqs", "lambda", "firehose", "sms", "application"}


def pending(subscription: Any) -> bool:
    """An e-mail or HTTP(S) subscription its endpoint has not confirmed."""
    return subscription.protocol not in _CONFIRMED_AT_ONCE and not getattr(subscription, "endpoint_confirmed", False)


def install_subscription_confirmation() -> None:
    from moto.core.responses import ActionResult
    from moto.sns.exceptions import SNSInvalidParameter
    from moto.sns.responses import SNSResponse

    def described(subscription: Any) -> dict[str, Any]:
        arn = "PendingConfirmation" if pending(subscription) else subscription.arn
        return {
            "SubscriptionArn": arn,
            "Owner": subscription.owner,
            "Protocol": subscription.protocol,
            "Endpoint": subscription.endpoint,
            "TopicArn": subscription.topic.arn,
        }

    def list_subscriptions_by_topic(self: Any) -> Any:
        found, next_token = self.backend.list_subscriptions_by_topic(self._get_param("TopicArn"), next_token=self._get_param("NextToken"))
        return ActionResult({"Subscriptions": [described(x) for x in found], "NextToken": next_token})

    def list_subscriptions(self: Any) -> Any:
        found, next_token = self.backend.list_subscriptions(next_token=self._get_param("NextToken"))
        return ActionResult({"Subscriptions": [described(x) for x in found], "NextToken": next_token})

    def confirm_subscription(self: Any) -> Any:
        topic, token = self._get_param("TopicArn"), self._get_param("Token")
        found, _ = self.backend.list_subscriptions_by_topic(topic)
        waiting = [x for x in found if pending(x) and x.endpoint == token]
        if not waiting:
            raise SNSInvalidParameter("Invalid token")
        waiting[0].endpoint_confirmed = True
        return ActionResult({"SubscriptionArn": waiting[0].arn})

    SNSResponse.list_subscriptions_by_topic = list_subscriptions_by_topic  # type: ignore[method-assign]
    SNSResponse.list_subscriptions = list_subscriptions  # type: ignore[method-assign]
    SNSResponse.confirm_subscription = confirm_subscription  # type: ignore[method-assign]


def _percentile(values: list[float], name: str) -> float | None:
    """`p95` of `values`, nearest rank."""
    try:
        rank = float(name[1:])
    except ValueError:
        return None
    if not values or not 0 < rank <= 100:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def install() -> None:
    from moto.cloudwatch.models import CloudWatchBackend, Statistics
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.sns.models import sns_backends

    from sandbox.emulation.access import alarm_publish_allowed

    set_state = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        before = alarm.state_value if alarm is not None else None
        set_state(self, alarm_name, reason, reason_data, state_value)
        if alarm is None or before == state_value or not alarm.actions_enabled:
            return
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions}.get(state_value) or []
        for arn in (a for a in actions if ":sns:" in a):
            region, account = arn.split(":")[3], arn.split(":")[4]
            if not alarm_publish_allowed(account, region, alarm.alarm_arn, arn):
                continue  # SNS refuses the publish: the topic's key policy does not let CloudWatch use the key
            sns = sns_backends[account][region]
            message = {"AlarmName": alarm_name, "NewStateValue": state_value, "OldStateValue": before, "NewStateReason": reason}
            sns.publish(message=json.dumps(message), arn=arn, subject=f'{state_value}: "{alarm_name}"')
            # E-mail and HTTP(S) get nothing until the subscriber confirms.
            subscriptions = [x for x in sns.list_subscriptions_by_topic(arn)[0] if not pending(x)]
            dims = [{"Name": "TopicName", "Value": arn.rsplit(":", 1)[1]}]
            # Stamped now by moto, as a datum put without a timestamp is.
            metrics = [{"MetricName": "NumberOfMessagesPublished", "Value": 1, "Dimensions": dims}]
            if subscriptions:
                metrics.append({"MetricName": "NumberOfNotificationsDelivered", "Value": len(subscriptions), "Dimensions": dims})
            self.put_metric_data("AWS/SNS", metrics)

    CloudWatchBackend.set_alarm_state = set_alarm_state  # type: ignore[method-assign]

    get_statistics = CloudWatchResponse.get_metric_statistics

    def get_metric_statistics(self: Any) -> Any:
        extended = self._get_param("ExtendedStatistics") or []
        result = get_statistics(self)
        for point in result._result["Datapoints"] if extended else []:
            values = [float(v) for v in point.metric_single_values_list]
            point.extended_statistics = {name: _percentile(values, name) for name in extended}
        return result

    CloudWatchResponse.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]
    Statistics.extended_statistics = None  # type: ignore[attr-defined]
    install_subscription_confirmation()
    _install_scans_and_maintenance()


def _install_scans_and_maintenance() -> None:
    from moto.core.responses import ActionResult
    from moto.ecr.models import ECRBackend
    from moto.rds.responses import RDSResponse

    put_image = ECRBackend.put_image

    def put_image_and_scan(self: Any, repository_name: str, *args: Any, **kwargs: Any) -> Any:
        image = put_image(self, repository_name, *args, **kwargs)
        repository = self.repositories[repository_name]
        scanning = repository.image_scanning_configuration or {}
        # The API's key, or CloudFormation's, as moto kept whichever it was given.
        if str(scanning.get("scanOnPush", scanning.get("ScanOnPush"))).lower() == "true" and not image.last_scan:
            # One scan per image, found by its tag: moto keeps an image per tag, and tags pushed
            # from one manifest share a digest, by which moto would find the first, already
            # scanned image and refuse a second scan (LimitExceededException), which botocore
            # retries as a throttle, pushing again into ImageAlreadyExists.
            tag = getattr(image, "image_tag", None)
            self.start_image_scan(None, repository_name, {"imageTag": tag} if tag else {"imageDigest": image.image_digest})
        return image

    ECRBackend.put_image = put_image_and_scan  # type: ignore[method-assign]

    def describe_pending_maintenance_actions(self: Any) -> Any:
        return ActionResult({"PendingMaintenanceActions": []})

    RDSResponse.describe_pending_maintenance_actions = describe_pending_maintenance_actions  # type: ignore[attr-defined]
