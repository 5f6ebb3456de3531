"""The internet-facing Application Load Balancer: listeners, TLS, access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.compliance import CONTROL_TOWER, acknowledge
from cdk_constructs.protection import LATE_PROTECTION, DeletionProtection

# TLS 1.3 and 1.2 only, TLS 1.2 with forward-secret AEAD ciphers only, and post-quantum hybrid key
# exchange where the client offers it (ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09, what the console
# now picks: ELB user guide, "Security policies for your Application Load Balancer"). The iOS app's
# URLSession speaks TLS 1.3; nothing older than 1.2 is needed.
TLS_POLICY = elbv2.SslPolicy.TLS13_12_RES_PQ


class PublicLoadBalancer(Construct):
    """A dual-stack ALB in the public subnets: HTTPS on 443 and HTTP redirected to it.

    Without a certificate it serves plain HTTP on 80 instead (the caller warns about that).
    Access logs go to a bucket of their own that is encrypted, versioned, retained, and
    expires old logs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        certificate: acm.ICertificate | None,
        idle_timeout: Duration,
        deletion_protection: bool,
        access_log_expiry_days: int,
    ) -> None:
        """
        :param vpc: the VPC; the ALB goes into its public subnets.
        :param security_group: the ALB's group (contractorlens-alb-sg).
        :param certificate: the certificate for HTTPS; None serves HTTP only.
        :param idle_timeout: how long an idle connection is kept, above the slowest request.
        :param deletion_protection: refuse deletion of the ALB itself, switched on as the stack's
            last step (cdk_constructs/protection.py).
        :param access_log_expiry_days: days access logs are kept.
        """
        super().__init__(scope, construct_id)
        self.access_logs = self._access_logs_bucket(access_log_expiry_days)
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            internet_facing=True,
            ip_address_type=elbv2.IpAddressType.DUAL_STACK,
            security_group=security_group,
            drop_invalid_header_fields=True,
            idle_timeout=idle_timeout,
        )
        self.alb.log_access_logs(self.access_logs)
        # CDK writes the attribute as false; left in, an update of the attributes would turn it off again.
        self.alb.remove_attribute("deletion_protection.enabled")
        if deletion_protection:
            DeletionProtection.of_load_balancer(self, "DeletionProtection", load_balancer_arn=self.alb.load_balancer_arn)
            for rule in ("NIST.800.53.R5-ELBDeletionProtectionEnabled", f"{CONTROL_TOWER}elbv2_deletion_protection_enabled_check"):
                acknowledge(self.alb, rule, LATE_PROTECTION)
        self.https = certificate is not None
        self.listener = self._listen(certificate)
        self._acknowledge_findings()

    def _access_logs_bucket(self, expiry_days: int) -> s3.Bucket:
        return s3.Bucket(
            self,
            "AccessLogs",
            # ALB log delivery supports SSE-S3 only, not a customer-managed key.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Retain, not RetainExceptOnCreate: ELB writes a test object into the bucket as soon as
            # access logging is on, and S3 refuses to delete a bucket that is not empty, so the
            # rollback of a failed first create could not delete it. The bucket's name is generated,
            # so the one left behind never blocks the retry.
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(expiry_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )

    def _listen(self, certificate: acm.ICertificate | None) -> elbv2.ApplicationListener:
        """HTTPS on 443 and a redirect from 80; HTTP on 80 alone without a certificate."""
        if certificate is not None:
            listener = self.alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                ssl_policy=TLS_POLICY,
                open=False,  # the security group's rules are the network stack's, not the listener's
            )
            redirect = self.alb.add_redirect(source_port=80, target_port=443, open=False)
            acknowledge(
                redirect,
                "NIST.800.53.R5-ELBv2ACMCertificateRequired",
                "Port 80 serves nothing: it answers every request with a permanent redirect to HTTPS on 443.",
            )
            return listener
        listener = self.alb.add_listener("Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP, open=False)
        for rule in (
            "NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            f"{CONTROL_TOWER}alb_http_to_https_redirection_check",
        ):
            acknowledge(
                listener,
                rule,
                "No certificate is configured (neither dns.domain nor dns.certificate_arn), so this "
                "environment serves HTTP only; synth prints a warning, and production has a domain.",
            )
        return listener

    def _acknowledge_findings(self) -> None:
        no_self_logging = (
            "This bucket receives the ALB's access logs; logging its own accesses would need another bucket that logs into nothing."
        )
        sse_s3_only = "ALB access-log delivery supports only SSE-S3 (Amazon S3 managed keys); a customer-managed key would stop delivery."
        for rule, reason in {
            "AwsSolutions-S1": no_self_logging,
            "NIST.800.53.R5-S3BucketLoggingEnabled": no_self_logging,
            f"{CONTROL_TOWER}s3_bucket_logging_enabled_check": no_self_logging,
            "NIST.800.53.R5-S3BucketReplicationEnabled": "Access logs are diagnostic, kept for a limited time; "
            "they are not part of the data the DR plan recovers.",
            "NIST.800.53.R5-S3DefaultEncryptionKMS": sse_s3_only,
            f"{CONTROL_TOWER}s3_bucket_default_encryption_kms_check": sse_s3_only,
            f"{CONTROL_TOWER}s3_event_notifications_enabled_check": "Nothing consumes access logs as they "
            "arrive; they are read when a request is investigated, so there is no event to send.",
            f"{CONTROL_TOWER}s3_bucket_object_lock_enabled_check": "Access logs are diagnostic and expire after "
            "service.access_log_expiry_days; the bucket is versioned, retained on delete and refuses "
            "non-TLS access, and Object Lock could only be turned on at creation, which would replace it.",
        }.items():
            acknowledge(self.access_logs, rule, reason)
