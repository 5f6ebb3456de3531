"""The manual's alerting channels: an SNS topic per severity and its subscriptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk_constructs.compliance import acknowledge
from cdk_constructs.keys import customer_key
from cdk_constructs.threshold import Severity


@dataclass(frozen=True)
class Endpoints:
    """Where one severity's alerts go. Empty values are simply not subscribed."""

    emails: Sequence[str] = ()
    sms: str = ""
    slack_workspace_id: str = ""
    slack_channel_id: str = ""
    slack_channel_name: str = ""
    """The manual's channel name (#alerts-critical), for messages only."""


class AlertChannels(Construct):
    """Encrypted SNS topics `contractorlens-<env>-alerts-<severity>` and their subscribers.

    The topics have fixed names because alarms in other stacks (the Service stack's
    deployment alarms, the DR region's) address them by ARN rather than by reference.
    Slack goes through AWS Chatbot, which needs the workspace authorised once in its console.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_names: Mapping[Severity, str],
        endpoints: Mapping[Severity, Endpoints],
    ) -> None:
        """
        :param topic_names: the topic name of each severity.
        :param endpoints: the subscribers of each severity.
        """
        super().__init__(scope, construct_id)
        self.key = customer_key(
            self,
            "Key",
            description="Encrypts the ContractorLens alert topics",
        )
        # CloudWatch publishes alarm notifications into the encrypted topics.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],
            )
        )
        self.topics: dict[Severity, sns.Topic] = {}
        self.left_out: list[str] = []
        for severity, name in topic_names.items():
            topic = sns.Topic(
                self,
                f"{severity.value.title()}Topic",
                topic_name=name,
                display_name=f"ContractorLens {severity.value} alerts",
                master_key=self.key,
                enforce_ssl=True,
            )
            self.topics[severity] = topic
            self._subscribe(topic, severity, endpoints[severity])

    def _subscribe(self, topic: sns.Topic, severity: Severity, to: Endpoints) -> None:
        label = severity.value
        for email in to.emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        if not to.emails:
            self.left_out.append(f"{label} e-mail")
        if to.sms:
            topic.add_subscription(subscriptions.SmsSubscription(to.sms))
        elif severity is Severity.CRITICAL:
            self.left_out.append(f"{label} SMS to the on-call engineer")
        if to.slack_workspace_id and to.slack_channel_id:
            slack = chatbot.SlackChannelConfiguration(
                self,
                f"{label.title()}Slack",
                # Chatbot configurations are global to the account: the region keeps them apart.
                slack_channel_configuration_name=f"{topic.topic_name}-{Stack.of(self).region}",
                slack_workspace_id=to.slack_workspace_id,
                slack_channel_id=to.slack_channel_id,
                notification_topics=[topic],
                logging_level=chatbot.LoggingLevel.ERROR,
                # Chatbot only relays notifications here; nobody runs commands from Slack.
                guardrail_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
            )
            acknowledge(
                slack,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
                "The guardrail caps what anyone could do from Slack at read-only; the channel role itself has "
                "no permissions, since it only relays alarm notifications.",
            )
        else:
            self.left_out.append(f"{label} Slack {to.slack_channel_name}")
