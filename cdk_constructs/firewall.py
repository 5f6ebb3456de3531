"""AWS WAF in front of the load balancer: AWS managed rules, a per-IP rate limit, logging."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Headers whose values WAF leaves out of its logs: the app's bearer tokens and any session cookie
# (WAF logs every request's headers by default; the log group is readable by operators).
REDACTED_HEADERS = ("authorization", "cookie")

# The Common Rule Set's rule that blocks request bodies over 8 KB, and the label it puts on them
# (AWS WAF developer guide, "Core rule set (CRS) managed rule group").
BODY_SIZE_RULE = "SizeRestrictions_BODY"
BODY_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"

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
        large_body_paths: Sequence[str] | None = None,
    ) -> None:
        """
        :param name: the web ACL's name and metric prefix.
        :param load_balancer_arn: the ALB to protect.
        :param rate_limit: requests one client IP may send in 5 minutes before it is blocked.
        :param log_group: where WAF writes its logs (without the values of REDACTED_HEADERS); its name
            must start with aws-waf-logs-.
        :param large_body_paths: URI path prefixes where bodies over 8 KB (uploads) pass; elsewhere
            they are blocked. The Common Rule Set's own 8 KB rule only counts. Default: None, they
            pass everywhere.
        """
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=_rules(name, rate_limit, large_body_paths),
            # For every output of the web ACL, its sampled requests in the console included: the
            # logging configuration's redaction covers the logs only (WAF API reference,
            # DataProtectionConfig: it "alters the data that's available for ... web ACL request sampling").
            data_protection_config=wafv2.CfnWebACL.DataProtectionConfigProperty(
                data_protections=[
                    wafv2.CfnWebACL.DataProtectProperty(
                        field=wafv2.CfnWebACL.FieldToProtectProperty(field_type="SINGLE_HEADER", field_keys=list(REDACTED_HEADERS)),
                        action="SUBSTITUTION",
                    )
                ]
            ),
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


def _rules(name: str, rate_limit: int, large_body_paths: Sequence[str] | None) -> list[wafv2.CfnWebACL.RuleProperty]:
    """The managed rule groups in order, the body-size rule where large bodies are not allowed,
    then the per-IP rate limit over 5 minutes."""
    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name=group,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=group,
                    # Counted, not blocked: it would block every upload over 8 KB; ours below decides.
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=BODY_SIZE_RULE, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                    ]
                    if group == "AWSManagedRulesCommonRuleSet"
                    else None,
                )
            ),
            visibility_config=_visibility(f"{name}-{group}"),
        )
        for priority, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    if large_body_paths is not None:
        rules.append(_large_bodies_outside(name, large_body_paths, priority=len(rules)))
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


def _large_bodies_outside(name: str, paths: Sequence[str], *, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    """Block what the Common Rule Set labelled as a body over 8 KB, unless its path starts with one of `paths`."""
    allowed = [
        wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="STARTS_WITH",
                search_string=path,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        for path in paths
    ]
    labelled = wafv2.CfnWebACL.StatementProperty(
        label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(scope="LABEL", key=BODY_SIZE_LABEL)
    )
    if not allowed:
        statement = labelled
    else:
        upload = (
            allowed[0]
            if len(allowed) == 1
            else wafv2.CfnWebACL.StatementProperty(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=allowed))
        )
        statement = wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    labelled,
                    wafv2.CfnWebACL.StatementProperty(not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=upload)),
                ]
            )
        )
    return wafv2.CfnWebACL.RuleProperty(
        name="LargeBodiesOutsideUploads",
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=statement,
        visibility_config=_visibility(f"{name}-LargeBodiesOutsideUploads"),
    )
