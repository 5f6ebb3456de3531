"""AWS WAF in front of the load balancer: AWS managed rules, a per-IP rate limit, logging."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Headers whose values WAF leaves out of its logs: the app's bearer tokens and any session cookie
# (WAF logs every request's headers by default; the log group is readable by operators).
REDACTED_HEADERS = ("authorization", "cookie")

# Evaluated in this order; each is AWS-maintained, so new threats are covered without a deploy.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)


class ApiFirewall(Construct):
    """A regional web ACL associated with one ALB, logging to a CloudWatch log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        load_balancer_arn: str,
        rate_limit: int,
        log_group: logs.ILogGroup,
    ) -> None:
        """
        :param name: the web ACL's name and metric prefix.
        :param load_balancer_arn: the ALB to protect.
        :param rate_limit: requests one client IP may send in 5 minutes before it is blocked.
        :param log_group: where WAF writes its logs (without the values of REDACTED_HEADERS); its name
            must start with aws-waf-logs-.
        """
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=_rules(name, rate_limit),
        )
        wafv2.CfnWebACLAssociation(self, "Association", resource_arn=load_balancer_arn, web_acl_arn=self.web_acl.attr_arn)
        wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            # WAF wants the group's ARN without the ":*" that log_group_arn carries.
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header}) for header in REDACTED_HEADERS
            ],
        )


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


def _rules(name: str, rate_limit: int) -> list[wafv2.CfnWebACL.RuleProperty]:
    """The managed rule groups in order, then the per-IP rate limit over 5 minutes."""
    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name=group,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(vendor_name="AWS", name=group)
            ),
            visibility_config=_visibility(f"{name}-{group}"),
        )
        for priority, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    rules.append(
        wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp",
            priority=len(rules),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                )
            ),
            visibility_config=_visibility(f"{name}-RateLimitPerIp"),
        )
    )
    return rules
