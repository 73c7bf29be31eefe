# Statements of each function's execution role (the function module adds logs, tracing and
# VPC networking). Named actions on named ARNs; "*" only where AWS has no resource type.
# Each action is one the function's code calls (tests/tests/terraform/iam.rs keeps an
# inventory of every SDK operation per function and checks both ways), or one the Lambda
# service calls with the role on the function's behalf (event source mappings: marked).

locals {
  table_arns = [
    for name in local.table_names : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${name}"
  ]
  index_arns = [for arn in local.table_arns : "${arn}/index/*"]

  redis_auth_parameter_arn = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(coalesce(var.redis_auth_parameter_name, "/none"), "/")}"
  secrets_path_arn         = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${var.secrets_parameter_path}/*"

  put_metrics = {
    sid     = "PutPulseMetrics"
    actions = ["cloudwatch:PutMetricData"]
    # PutMetricData has no resource type: AWS offers nothing narrower than "*"; the namespace
    # condition limits it to pulse's own metrics.
    resources = ["*"]
    conditions = [{
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }]
    enabled = true
  }

  decrypt_parameters = {
    sid       = "DecryptParameters"
    actions   = ["kms:Decrypt"]
    resources = [coalesce(var.parameters_kms_key_arn, "none")]
    conditions = [{
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com"]
    }]
    # Only with a customer managed key: the AWS managed aws/ssm key needs no grant.
    enabled = var.parameters_kms_key_arn != null
  }

  detector_statement_candidates = [
    {
      sid        = "ReadTables"
      actions    = ["dynamodb:Scan", "dynamodb:Query"]
      resources  = concat(local.table_arns, local.index_arns)
      conditions = []
      enabled    = true
    },
    {
      # The keys read mode sizes its rolling discovery Scan on each table's item count.
      sid        = "DescribeTables"
      actions    = ["dynamodb:DescribeTable"]
      resources  = local.table_arns
      conditions = []
      enabled    = true
    },
    {
      # Used by the stream event source mapping, with this role.
      sid        = "ReadStreams"
      actions    = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
      resources  = values(local.stream_arns)
      conditions = []
      enabled    = var.enable_stream_trigger
    },
    {
      # Used by the stream event source mapping, with this role.
      sid     = "ListStreams"
      actions = ["dynamodb:ListStreams"]
      # ListStreams has no resource type: AWS offers nothing narrower than "*".
      resources  = ["*"]
      conditions = []
      enabled    = var.enable_stream_trigger
    },
    {
      # Used by the stream event source mapping's on-failure destination, with this role.
      sid        = "SendStreamFailures"
      actions    = ["sqs:SendMessage"]
      resources  = aws_sqs_queue.stream_failures[*].arn
      conditions = []
      enabled    = var.enable_stream_trigger
    },
    {
      # SendMessageBatch is authorized as sqs:SendMessage; GetQueueAttributes: the smoke test.
      sid        = "SendAlerts"
      actions    = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
      resources  = [module.queues.queue_arn]
      conditions = []
      enabled    = true
    },
    {
      sid        = "ReadRedisAuthToken"
      actions    = ["ssm:GetParameters"]
      resources  = [local.redis_auth_parameter_arn]
      conditions = []
      enabled    = var.redis_auth_parameter_name != null
    },
    local.decrypt_parameters,
    local.put_metrics,
  ]

  alert_consumer_statement_candidates = [
    {
      # Used by the SQS event source mapping, with this role.
      sid        = "ConsumeAlerts"
      actions    = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
      resources  = [module.queues.queue_arn]
      conditions = []
      enabled    = true
    },
    {
      # SendMessage of a deferred message back to the alerts queue (with a delay), and of a
      # message failing on its final receive to the DLQ (with its failureReason).
      sid        = "DeferAndDeadLetter"
      actions    = ["sqs:SendMessage"]
      resources  = [module.queues.queue_arn, module.queues.dlq_arn]
      conditions = []
      enabled    = true
    },
    {
      # The consumer reads every secret, and the Redis AUTH token, with GetParameters
      # (plural, ten names a call): IAM authorizes it separately from GetParameter.
      sid        = "ReadSecrets"
      actions    = ["ssm:GetParameters"]
      resources  = concat(var.secrets_parameter_path == "" ? [] : [local.secrets_path_arn], var.redis_auth_parameter_name == null ? [] : [local.redis_auth_parameter_arn])
      conditions = []
      enabled    = var.secrets_parameter_path != "" || var.redis_auth_parameter_name != null
    },
    local.decrypt_parameters,
    {
      # Email receivers (SES v2 SendEmail is authorized as ses:SendEmail on the sending
      # identity, and on the configuration set when one is named).
      sid        = "SendAlertEmail"
      actions    = ["ses:SendEmail"]
      resources  = var.ses_identity_arns
      conditions = []
      enabled    = length(var.ses_identity_arns) > 0
    },
  ]

  dlq_redrive_statement_candidates = [
    {
      # The *Batch calls are authorized as their single-message actions.
      sid = "ReadDeleteDeadLetters"
      actions = [
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues",
      ]
      resources  = [module.queues.dlq_arn]
      conditions = []
      enabled    = true
    },
    {
      sid = "MoveDeadLetters"
      actions = [
        "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask",
      ]
      resources  = [module.queues.dlq_arn]
      conditions = []
      enabled    = true
    },
    {
      sid        = "SendToSourceQueue"
      actions    = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
      resources  = [module.queues.queue_arn]
      conditions = []
      enabled    = true
    },
  ]

  detector_statements       = [for s in local.detector_statement_candidates : s if s.enabled]
  alert_consumer_statements = [for s in local.alert_consumer_statement_candidates : s if s.enabled]
  dlq_redrive_statements    = [for s in local.dlq_redrive_statement_candidates : s if s.enabled]
}
