# Per environment: the permissions boundary of the roles the deploy creates, the deploy role
# (what `terraform apply` of envs/<env> needs, and nothing of another environment), and the
# dlq role (invoke the environment's dlq-redrive alias, nothing else).

locals {
  arn_prefix = {
    for env in local.environments : env => {
      lambda     = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:pulse-${env}-*"
      role       = "arn:${local.partition}:iam::${local.account_id}:role/pulse-${env}-*"
      boundary   = "arn:${local.partition}:iam::${local.account_id}:policy/pulse-${env}-boundary"
      sqs        = "arn:${local.partition}:sqs:${var.region}:${local.account_id}:pulse-${env}-*"
      sns        = "arn:${local.partition}:sns:${var.region}:${local.account_id}:pulse-${env}-*"
      logs       = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/pulse-${env}-*"
      alarms     = "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:pulse-${env}-*"
      rules      = "arn:${local.partition}:events:${var.region}:${local.account_id}:rule/pulse-${env}-*"
      tables     = "arn:${local.partition}:dynamodb:${var.region}:${local.account_id}:table/*"
      params     = "arn:${local.partition}:ssm:${var.region}:${local.account_id}:parameter/pulse/${env}/*"
      cache      = "arn:${local.partition}:elasticache:${var.region}:${local.account_id}:*:pulse-${env}-*"
      kms_alias  = "arn:${local.partition}:kms:${var.region}:${local.account_id}:alias/pulse-${env}-*"
      kms_keys   = "arn:${local.partition}:kms:${var.region}:${local.account_id}:key/*"
      state_objs = "${aws_s3_bucket.state.arn}/pulse/${env}/*"
    }
  }
}

# --- permissions boundary of the function roles -----------------------------------------

data "aws_iam_policy_document" "boundary" {
  #checkov:skip=CKV_AWS_111:a boundary caps what roles may ever do; the roles' own policies name resources
  #checkov:skip=CKV_AWS_356:a boundary caps what roles may ever do; "*" only where the actions have no resource type (see each statement)
  for_each = local.environments

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.arn_prefix[each.key].logs}:*"]
  }
  statement {
    sid = "NoResourceTypeActions"
    # X-Ray segments, VPC network interfaces of Lambda, ListStreams and PutMetricData have no
    # resource type: AWS offers nothing narrower than "*".
    actions = [
      "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
      "dynamodb:ListStreams", "cloudwatch:PutMetricData",
    ]
    resources = ["*"] # no resource type (see the comment above)
  }
  statement {
    sid = "ReadTablesAndStreams"
    actions = [
      "dynamodb:Scan", "dynamodb:Query",
      "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
    ]
    resources = [local.arn_prefix[each.key].tables]
  }
  statement {
    sid = "OwnQueues"
    actions = [
      "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues",
      "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask",
    ]
    resources = [local.arn_prefix[each.key].sqs]
  }
  statement {
    sid       = "OwnParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = [local.arn_prefix[each.key].params]
  }
  statement {
    sid = "SendAlertEmail"
    # The alert consumer's email receivers, from this account's SES identities in any region
    # (a receiver may name its region); the consumer's own policy names the identities.
    actions = ["ses:SendEmail"]
    resources = [
      "arn:${local.partition}:ses:*:${local.account_id}:identity/*",
      "arn:${local.partition}:ses:*:${local.account_id}:configuration-set/*",
    ]
  }
  statement {
    sid       = "DecryptParametersViaSsm"
    actions   = ["kms:Decrypt"]
    resources = [local.arn_prefix[each.key].kms_keys]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "boundary" {
  for_each    = local.environments
  name        = "pulse-${each.key}-boundary"
  description = "Permissions boundary of every role the pulse ${each.key} deploy creates."
  policy      = data.aws_iam_policy_document.boundary[each.key].json
}

# --- deploy role ----------------------------------------------------------------------------

data "aws_iam_policy_document" "deploy" {
  #checkov:skip=CKV_AWS_107:no credentials are exposed: sts:GetCallerIdentity only
  #checkov:skip=CKV_AWS_108:ssm:GetParameter on /pulse/<env>/* only: scripts/redis-auth.sh sets the Redis AUTH token from it
  #checkov:skip=CKV_AWS_109:iam:PutRolePolicy is limited to pulse-<env>-* roles carrying the environment's boundary
  #checkov:skip=CKV_AWS_110:iam:PassRole is limited to pulse-<env>-* roles and to lambda.amazonaws.com
  #checkov:skip=CKV_AWS_111:write access without a resource type (EC2 networking, KMS CreateKey, event source mappings) is limited by region and tags, see each statement
  #checkov:skip=CKV_AWS_356:"*" only for actions without a resource type, see each statement
  for_each = local.environments

  statement {
    sid       = "StateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.arn_prefix[each.key].state_objs] # state and its .tflock
  }
  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["pulse/${each.key}/*"]
    }
  }
  statement {
    sid       = "StateKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.state.arn]
  }
  statement {
    sid       = "WhoAmI"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"] # no resource type
  }
  statement {
    sid = "Functions"
    actions = [
      "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
      "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion",
      "lambda:ListVersionsByFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConcurrency",
      "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:TagResource",
      "lambda:UntagResource", "lambda:ListTags", "lambda:AddPermission", "lambda:RemovePermission",
      "lambda:GetPolicy", "lambda:CreateAlias", "lambda:UpdateAlias", "lambda:DeleteAlias", "lambda:GetAlias",
      "lambda:InvokeFunction", "lambda:GetFunctionRecursionConfig",
    ]
    resources = [local.arn_prefix[each.key].lambda]
  }
  statement {
    sid = "EventSourceMappings"
    # Mappings are named by generated UUIDs: AWS offers nothing narrower than "*"; the
    # condition keeps them to this environment's functions.
    actions = [
      "lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping",
      "lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping",
    ]
    resources = ["*"] # generated mapping UUIDs; the condition scopes it
    condition {
      test     = "ArnLike"
      variable = "lambda:FunctionArn"
      values   = ["${local.arn_prefix[each.key].lambda}"]
    }
  }
  statement {
    sid       = "ListEventSourceMappings"
    actions   = ["lambda:ListEventSourceMappings"]
    resources = ["*"] # no resource type
  }
  statement {
    sid = "FunctionRoles"
    actions = [
      "iam:GetRole", "iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy",
      "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
    ]
    resources = [local.arn_prefix[each.key].role]
  }
  statement {
    sid       = "FunctionRolesCarryTheBoundary"
    actions   = ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"]
    resources = [local.arn_prefix[each.key].role]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.arn_prefix[each.key].boundary]
    }
  }
  statement {
    sid       = "PassFunctionRolesToLambda"
    actions   = ["iam:PassRole"]
    resources = [local.arn_prefix[each.key].role]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com"]
    }
  }
  statement {
    sid       = "NeverLoseTheBoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion"]
    resources = ["*"] # a deny: never lose the boundary, anywhere
  }
  statement {
    sid = "Queues"
    actions = [
      "sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
      "sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:TagQueue", "sqs:UntagQueue",
    ]
    resources = [local.arn_prefix[each.key].sqs]
  }
  statement {
    sid = "AlarmTopic"
    actions = [
      "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes",
      "sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes",
      "sns:ListSubscriptionsByTopic", "sns:TagResource", "sns:UntagResource", "sns:ListTagsForResource",
    ]
    resources = [local.arn_prefix[each.key].sns]
  }
  statement {
    sid = "AlarmTopicKeyCreate"
    # A new key has no ARN yet: AWS offers nothing narrower than "*"; the tag condition
    # makes it this environment's key.
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"] # a new key has no ARN yet; the tag condition scopes it
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }
  statement {
    sid = "AlarmTopicKeyManage"
    actions = [
      "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus",
      "kms:EnableKeyRotation", "kms:ListResourceTags", "kms:ScheduleKeyDeletion", "kms:UntagResource",
    ]
    resources = [local.arn_prefix[each.key].kms_keys]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }
  }
  statement {
    sid       = "AlarmTopicKeyAlias"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = [local.arn_prefix[each.key].kms_alias, local.arn_prefix[each.key].kms_keys]
  }
  statement {
    sid       = "KmsList"
    actions   = ["kms:ListAliases"]
    resources = ["*"] # no resource type
  }
  statement {
    sid = "Alarms"
    actions = [
      "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
      "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource",
    ]
    resources = [local.arn_prefix[each.key].alarms]
  }
  statement {
    sid = "LogGroups"
    actions = [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:TagResource",
      "logs:UntagResource", "logs:ListTagsForResource", "logs:AssociateKmsKey",
    ]
    resources = [local.arn_prefix[each.key].logs, "${local.arn_prefix[each.key].logs}:*"]
  }
  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"] # no resource type
  }
  statement {
    sid = "Schedule"
    actions = [
      "events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets",
      "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource",
      "events:UntagResource", "events:ListTagsForResource",
    ]
    resources = [local.arn_prefix[each.key].rules]
  }
  statement {
    sid = "Tables"
    # dev creates its tables; every environment reads the platform's tables' descriptions.
    actions = [
      "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
      "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeTimeToLive",
      "dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource",
      "dynamodb:DescribeStream", "dynamodb:ListStreams",
    ]
    resources = [local.arn_prefix[each.key].tables]
  }
  statement {
    sid = "Network"
    # EC2 networking (VPC, subnets, NAT, endpoints, security groups) is created under
    # generated ids: AWS offers nothing narrower than "*"; the region condition keeps it here.
    actions = [
      "ec2:Describe*", "ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:CreateSubnet",
      "ec2:DeleteSubnet", "ec2:CreateInternetGateway", "ec2:DeleteInternetGateway",
      "ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:AllocateAddress", "ec2:ReleaseAddress",
      "ec2:CreateNatGateway", "ec2:DeleteNatGateway", "ec2:CreateRouteTable", "ec2:DeleteRouteTable",
      "ec2:CreateRoute", "ec2:DeleteRoute", "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
      "ec2:CreateVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:ModifyVpcEndpoint",
      "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
      "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
      "ec2:CreateTags", "ec2:DeleteTags",
    ]
    resources = ["*"] # generated EC2 ids; the region condition scopes it
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }
  statement {
    sid = "Redis"
    actions = [
      "elasticache:CreateReplicationGroup", "elasticache:DeleteReplicationGroup",
      "elasticache:ModifyReplicationGroup", "elasticache:DescribeReplicationGroups",
      "elasticache:CreateCacheSubnetGroup", "elasticache:DeleteCacheSubnetGroup",
      "elasticache:ModifyCacheSubnetGroup", "elasticache:DescribeCacheSubnetGroups",
      "elasticache:DescribeCacheClusters", "elasticache:AddTagsToResource",
      "elasticache:RemoveTagsFromResource", "elasticache:ListTagsForResource",
    ]
    resources = [local.arn_prefix[each.key].cache, "arn:${local.partition}:elasticache:${var.region}:${local.account_id}:parametergroup:default.*"]
  }
  statement {
    sid       = "RedisAuthToken"
    actions   = ["ssm:GetParameter"]
    resources = [local.arn_prefix[each.key].params]
  }
}

resource "aws_iam_role" "deploy" {
  for_each             = local.environments
  name                 = "pulse-deploy-${each.key}"
  description          = "terraform apply of terraform/envs/${each.key} from GitHub Actions (environment ${each.key})."
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "deploy" {
  for_each = local.environments
  name     = "pulse-deploy-${each.key}"
  role     = aws_iam_role.deploy[each.key].id
  policy   = data.aws_iam_policy_document.deploy[each.key].json
}

# --- plan role (read-only: the plan job before approval) ---------------------------------

data "aws_iam_policy_document" "plan" {
  #checkov:skip=CKV_AWS_356:read-only Describe/Get/List of the services the environment uses, which mostly have no resource-level scoping for them
  #checkov:skip=CKV_AWS_111:the only writes are the state lock object under pulse/<env>/
  for_each = local.environments

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [local.arn_prefix[each.key].state_objs]
  }
  statement {
    sid       = "LockState"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/pulse/${each.key}/terraform.tfstate.tflock"]
  }
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["pulse/${each.key}/*"]
    }
  }
  statement {
    sid       = "StateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.state.arn]
  }
  statement {
    sid = "ReadInfrastructure"
    # Describe/Get/List only (terraform refresh); no ssm:GetParameter*, no secret values.
    actions = [
      "sts:GetCallerIdentity", "lambda:Get*", "lambda:List*", "iam:GetRole", "iam:GetRolePolicy",
      "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
      "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags", "sns:GetTopicAttributes",
      "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
      "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
      "kms:ListAliases", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource",
      "logs:DescribeLogGroups", "logs:ListTagsForResource", "events:DescribeRule",
      "events:ListTargetsByRule", "events:ListTagsForResource", "dynamodb:DescribeTable",
      "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource",
      "ec2:Describe*", "elasticache:Describe*", "elasticache:ListTagsForResource",
    ]
    resources = ["*"] # read-only Describe/Get/List, mostly without resource-level scoping
  }
}

resource "aws_iam_role" "plan" {
  for_each             = local.environments
  name                 = "pulse-plan-${each.key}"
  description          = "terraform plan of terraform/envs/${each.key} from GitHub Actions (environment ${each.key}-plan), read-only."
  assume_role_policy   = data.aws_iam_policy_document.trust["${each.key}-plan"].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan" {
  for_each = local.environments
  name     = "pulse-plan-${each.key}"
  role     = aws_iam_role.plan[each.key].id
  policy   = data.aws_iam_policy_document.plan[each.key].json
}

# --- dlq role (pulse dlq in dlq.yml) ------------------------------------------------------

data "aws_iam_policy_document" "dlq" {
  for_each = local.environments

  statement {
    sid       = "InvokeDlqRedrive"
    actions   = ["lambda:InvokeFunction"]
    resources = ["arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:pulse-${each.key}-dlq-redrive:live"]
  }
}

resource "aws_iam_role" "dlq" {
  for_each             = local.environments
  name                 = "pulse-dlq-${each.key}"
  description          = "pulse dlq from GitHub Actions (environment ${each.key}): invokes the dlq-redrive alias only."
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "dlq" {
  for_each = local.environments
  name     = "pulse-dlq-${each.key}"
  role     = aws_iam_role.dlq[each.key].id
  policy   = data.aws_iam_policy_document.dlq[each.key].json
}
